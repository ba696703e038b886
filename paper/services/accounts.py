"""Paper accounts: created on first visit with the starting balances from settings."""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from paper.market import ASSETS
from paper.models import PaperAccount, PaperBalance, PaperOrder
from paper.services.ledger import ledger_transaction


def _starting_balances() -> dict[str, Decimal]:
    balances = {asset: Decimal(0) for asset in ASSETS}
    balances.update({a: Decimal(str(v)) for a, v in settings.PAPER_STARTING_BALANCES.items()})
    return balances


def account_get_or_create(*, user) -> PaperAccount:
    """Return the user's paper account, opening it with the starting balances if needed."""
    account = PaperAccount.objects.filter(user=user).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            account = PaperAccount(user=user, created_at=timezone.now())
            account.full_clean()
            account.save()
            PaperBalance.objects.bulk_create(
                PaperBalance(account=account, asset=asset, free=amount)
                for asset, amount in _starting_balances().items()
            )
    except IntegrityError:  # a concurrent first visit created it
        account = PaperAccount.objects.get(user=user)
    return account


def account_reset_balances(*, account: PaperAccount, now_ms: int) -> int:
    """Cancel every open order and put balances back to the starting amounts; return #canceled."""
    with ledger_transaction(account_id=account.pk):
        canceled = PaperOrder.objects.filter(
            account=account, status__in=PaperOrder.OPEN_STATUSES
        ).update(status=PaperOrder.Status.CANCELED, locked_amount=0, updated_ms=now_ms)
        PaperBalance.objects.filter(account=account).delete()
        PaperBalance.objects.bulk_create(
            PaperBalance(account=account, asset=asset, free=amount)
            for asset, amount in _starting_balances().items()
        )
    return canceled

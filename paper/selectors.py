"""Owner-scoped reads for the paper exchange's pages."""

from django.shortcuts import get_object_or_404

from paper.models import PaperApiKey, PaperOrder, PaperTrade


def key_get_for_user(*, user, public_id) -> PaperApiKey:
    """Return one of the user's keys, or 404 for anyone else's."""
    return get_object_or_404(PaperApiKey, public_id=public_id, account__user=user)


def keys_for_account(*, account):
    return PaperApiKey.objects.filter(account=account).order_by("-created_at")


def open_orders_for_account(*, account):
    return PaperOrder.objects.filter(account=account, status__in=PaperOrder.OPEN_STATUSES).order_by(
        "-id"
    )


def recent_trades_for_account(*, account, limit: int = 20):
    return PaperTrade.objects.filter(account=account).order_by("-id")[:limit]

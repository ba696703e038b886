"""Balance rows locked for one transaction: every change to free/locked goes through here."""

import threading
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F

from paper.errors import PaperError
from paper.models import PaperAccount, PaperBalance

# SQLite has one writer at a time; threads of one process queue here instead of in SQLite's
# busy handler, which sleeps in growing steps (1, 2, 5, 10… ms) while it waits.
_sqlite_writers = threading.RLock()


def account_lock(*, account_id: int) -> None:
    """Serialise ledger writers of one account for the rest of the transaction.

    The UPDATE takes PostgreSQL's row lock, and on SQLite it takes the database write lock at
    the start of the transaction (a read-then-write upgrade could fail with "locked").
    """
    PaperAccount.objects.filter(pk=account_id).update(write_seq=F("write_seq") + 1)


@contextmanager
def ledger_transaction(*, account_id: int):
    """A transaction that holds the account's ledger lock until it commits."""
    serialize = connection.vendor == "sqlite"
    if serialize:
        _sqlite_writers.acquire()
    try:
        with transaction.atomic():
            account_lock(account_id=account_id)
            yield
    finally:
        if serialize:
            _sqlite_writers.release()


class Ledger:
    """Balances of some assets of one account, locked with SELECT … FOR UPDATE."""

    def __init__(self, *, account_id: int, assets: list[str]):
        self.account_id = account_id
        rows = (
            PaperBalance.objects.select_for_update()
            .filter(account_id=account_id, asset__in=sorted(set(assets)))
            .order_by("asset")
        )
        self.rows = {row.asset: row for row in rows}
        for asset in assets:
            if asset not in self.rows:
                self.rows[asset] = PaperBalance.objects.create(account_id=account_id, asset=asset)
        self.dirty: set[str] = set()

    def free(self, asset: str) -> Decimal:
        return self.rows[asset].free

    def _change(self, asset: str, free: Decimal = Decimal(0), locked: Decimal = Decimal(0)):
        row = self.rows[asset]
        if row.free + free < 0 or row.locked + locked < 0:
            raise PaperError.insufficient_balance()
        row.free += free
        row.locked += locked
        self.dirty.add(asset)

    def require(self, asset: str, amount: Decimal) -> None:
        if self.rows[asset].free < amount:
            raise PaperError.insufficient_balance()

    def credit(self, asset: str, amount: Decimal) -> None:
        self._change(asset, free=amount)

    def debit(self, asset: str, amount: Decimal) -> None:
        self._change(asset, free=-amount)

    def lock(self, asset: str, amount: Decimal) -> None:
        self._change(asset, free=-amount, locked=amount)

    def unlock(self, asset: str, amount: Decimal) -> None:
        self._change(asset, free=amount, locked=-amount)

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        self._change(asset, locked=-amount)

    def save(self) -> None:
        for asset in sorted(self.dirty):
            self.rows[asset].save(update_fields=["free", "locked"])
        self.dirty.clear()

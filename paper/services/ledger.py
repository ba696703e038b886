"""Balance rows locked for one transaction: every change to free/locked goes through here."""

import os
import threading
from contextlib import contextmanager
from decimal import Decimal

from django.db import transaction

from paper import sql
from paper.errors import PaperError
from paper.models import PaperBalance

try:
    import fcntl
except ImportError:  # not POSIX: threads still queue, processes fall back to SQLite's wait
    fcntl = None


class SqliteWriterQueue:
    """Ledger writers of one SQLite file take turns here, across threads and processes.

    SQLite has one writer at a time. A writer that finds the write lock taken waits in
    SQLite's busy handler, which polls with growing sleeps (1, 2, 5, 10 … 100 ms): with two
    server processes, a writer sleeps long after the lock was released and every order pays
    for it. Here a writer blocks on a thread lock and an flock() on a file beside the
    database instead, and wakes the moment the previous writer commits. SQLite's own lock
    still guarantees correctness (other writers do not queue here); this only orders them.
    """

    def __init__(self):
        self._thread_lock = threading.Lock()
        self._files: dict[str, int] = {}  # database path -> this process's lock file
        self._pid = os.getpid()

    def _lock_file(self, database: str) -> int | None:
        if fcntl is None or not database or database == ":memory:" or "mode=memory" in database:
            return None
        if self._pid != os.getpid():  # forked: a shared open file would be one shared lock
            self._files, self._pid = {}, os.getpid()
        if database not in self._files:
            path = f"{database}.paper-writers.lock"
            self._files[database] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._files[database]

    @contextmanager
    def turn(self, database: str):
        with self._thread_lock:
            fd = self._lock_file(database)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)


_sqlite_writers = SqliteWriterQueue()


def account_lock(*, account_id: int) -> None:
    """Serialise ledger writers of one account for the rest of the transaction.

    The UPDATE takes PostgreSQL's row lock; on SQLite, inside an enclosing transaction, it
    takes the database write lock right away (a read-then-write upgrade could fail with
    "locked").
    """
    sql.account_write_seq_bump(account_id=account_id)


@contextmanager
def _begin_immediate(db):
    """Start the next transaction with SQLite's BEGIN IMMEDIATE (the write lock up front)."""
    db.ensure_connection()  # connecting sets transaction_mode from the settings
    previous = db.transaction_mode
    db.transaction_mode = "IMMEDIATE"
    try:
        yield
    finally:
        db.transaction_mode = previous


@contextmanager
def ledger_transaction(*, account_id: int):
    """A transaction that holds the account's ledger lock until it commits.

    On SQLite, a ledger transaction that is not inside another one queues for its turn
    (SqliteWriterQueue) and starts with BEGIN IMMEDIATE: it holds the database's write lock,
    which every ledger writer needs, from its first statement, so no UPDATE is needed to take
    it (one statement and one written page fewer per transaction). Inside an enclosing
    transaction, and on other databases, `account_lock` takes the lock.
    """
    db = transaction.get_connection()
    if db.vendor == "sqlite" and not db.in_atomic_block:
        # Only the outermost transaction queues: inside an enclosing one this connection may
        # already hold SQLite's write lock, and waiting for another writer would deadlock.
        writers = _sqlite_writers.turn(str(db.settings_dict["NAME"]))
        with writers, _begin_immediate(db), transaction.atomic():
            yield
        return
    with transaction.atomic():
        account_lock(account_id=account_id)
        yield


class Ledger:
    """Balances of some assets of one account, locked with SELECT … FOR UPDATE."""

    def __init__(self, *, account_id: int, assets: list[str]):
        self.account_id = account_id
        rows = sql.balances_for_update(account_id=account_id, assets=sorted(set(assets)))
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
        sql.balances_save(rows=[self.rows[asset] for asset in sorted(self.dirty)])
        self.dirty.clear()

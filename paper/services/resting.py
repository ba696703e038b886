"""Resting limit orders fill when the simulated price trades through them.

Evaluated lazily by every signed request of the account (before it reads or writes) and by
a periodic task for every account. Each order's progress is a checkpoint (checked_minute,
minute_filled) updated under the account lock in the same transaction as its fills, so a
fill is applied exactly once however many processes evaluate concurrently.
"""

from decimal import Decimal

from paper import matching, sql
from paper.clock import Now, clock_read
from paper.feed import Feed
from paper.models import PaperOrder, PaperTrade
from paper.services.ledger import Ledger, ledger_transaction
from paper.services.orders import fills_apply, release_lock

# Without fills, the checkpoint is written at most this often (it bounds the rescan).
CHECKPOINT_EVERY_MINUTES = 60


def _state(order: PaperOrder) -> matching.RestingState:
    return matching.RestingState(
        is_buy=order.side == PaperOrder.Side.BUY,
        price=order.price,
        remaining=order.remaining,
        placed_minute=order.created_ms // 60_000,
        checked_minute=order.checked_minute,
        minute_filled=order.minute_filled,
    )


def _needs_write(order: PaperOrder, feed: Feed) -> bool:
    if matching.resting_fills(feed, _state(order)):
        return True
    return feed.minute - order.checked_minute >= CHECKPOINT_EVERY_MINUTES


def _settle(order: PaperOrder, feed: Feed) -> int:
    fills = matching.resting_fills(feed, _state(order))
    ledger = Ledger(account_id=order.account_id, assets=[feed.spec.base, feed.spec.quote])
    in_current = sum((f.qty for f in fills if f.minute == feed.minute), Decimal(0))
    if order.checked_minute == feed.minute:
        in_current += order.minute_filled
    trades = fills_apply(
        order=order, fills=fills, ledger=ledger, spec=feed.spec, time_ms=feed.now.market_ms
    )
    order.checked_minute, order.minute_filled = feed.minute, in_current
    if order.status == PaperOrder.Status.FILLED:
        release_lock(order=order, ledger=ledger)
    order.save()
    PaperTrade.objects.bulk_create(trades)
    ledger.save()
    return len(fills)


def orders_evaluate(*, account_id: int, now: Now, symbol: str | None = None) -> int:
    """Fill an account's resting orders the price has traded through; return the fill count."""
    orders = sql.resting_orders(account_id=account_id, symbol=symbol)
    feeds: dict[str, Feed] = {}
    due = []
    for order in orders:
        feed = feeds.get(order.symbol) or feeds.setdefault(
            order.symbol, Feed.load(order.symbol, now)
        )
        if _needs_write(order, feed):
            due.append(order.pk)
    if not due:
        return 0
    fills = 0
    with ledger_transaction(account_id=account_id):
        # Re-read under the lock: another process may have settled these meanwhile.
        for order in PaperOrder.objects.select_for_update().filter(
            pk__in=due, status__in=PaperOrder.OPEN_STATUSES
        ):
            fills += _settle(order, feeds[order.symbol])
    return fills


def orders_evaluate_all(*, now: Now | None = None) -> int:
    """Evaluate the resting orders of every account (the periodic task calls this)."""
    now = now or clock_read()
    account_ids = (
        PaperOrder.objects.filter(status__in=PaperOrder.OPEN_STATUSES)
        .values_list("account_id", flat=True)
        .distinct()
    )
    return sum(orders_evaluate(account_id=a, now=now) for a in sorted(set(account_ids)))

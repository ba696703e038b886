"""Record what the exchange reports: orders and fills, idempotent by the exchange's own ids."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from trading import sql
from trading.exchange.types import ExchangeOrder, Trade
from trading.models import Fill, Order, OrderIntent
from trading.services.fill_totals import fill_day, fill_totals_rebuild

_ORDER_STATUSES = set(Order.Status.values)


def order_record(*, key, order: ExchangeOrder, intent: OrderIntent | None = None) -> Order:
    """Insert or update the mirror row of one exchange order; link it to its intent."""
    if intent is None and order.client_order_id:
        intent = OrderIntent.objects.filter(key=key, client_order_id=order.client_order_id).first()
    # Binance answers a cancel with the cancel request's own clientOrderId, so the order's
    # client id is taken from its first sighting only.
    values = {
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "status": order.status if order.status in _ORDER_STATUSES else Order.Status.OPEN,
        "price": order.price,
        "amount": order.amount,
        "filled": order.filled,
        "average": order.average,
    }
    if intent is not None:
        values["intent"] = intent
    create_values = {
        **values,
        "client_order_id": order.client_order_id,
        "placed_at": order.timestamp or timezone.now(),
    }
    if intent is not None and intent.kind != OrderIntent.Kind.CANCEL:
        # The order path recording the order it just placed: almost always a new row, so try
        # the insert alone first (update_or_create would lock-read, then insert). It skips a
        # row the key already has (sync or an earlier attempt recorded it first), which is
        # then updated below.
        row = sql.order_insert(key=key, exchange_order_id=order.id, **create_values)
        if row is not None:
            return row
    for _ in range(2):
        try:
            with transaction.atomic():
                row, created = Order.objects.update_or_create(
                    key=key,
                    exchange_order_id=order.id,
                    defaults=values,
                    create_defaults=create_values,
                )
            return row
        except IntegrityError:
            # Sync and the order path raced to insert the same order: the second try updates.
            continue
    return Order.objects.get(key=key, exchange_order_id=order.id)


def fills_record(*, key, trades: list[Trade] | tuple[Trade, ...], intent=None) -> int:
    """Insert fills not seen before (unique per key and trade id); return how many were new."""
    trades = [t for t in trades if t.id]
    if not trades:
        return 0
    known = set(
        Fill.objects.filter(key=key, trade_id__in=[t.id for t in trades]).values_list(
            "trade_id", flat=True
        )
    )
    intents = _intents_by_order(key, {t.order_id for t in trades if t.order_id}, intent)
    rows = [
        Fill(
            key=key,
            trade_id=t.id,
            exchange_order_id=t.order_id or "",
            intent=intents.get(t.order_id),
            symbol=t.symbol,
            side=t.side,
            price=t.price,
            amount=t.amount,
            cost=t.cost if t.cost is not None else t.price * t.amount,
            fee=t.fee,
            fee_currency=t.fee_currency,
            taker_or_maker=t.taker_or_maker,
            executed_at=t.timestamp or timezone.now(),
        )
        for t in {t.id: t for t in trades}.values()
        if t.id not in known
    ]
    # ignore_conflicts: a concurrent sync may insert the same trade between our read and write.
    Fill.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        fill_totals_rebuild(key_id=key.pk, days={fill_day(r.executed_at) for r in rows})
    return len(rows)


def _intents_by_order(key, order_ids: set[str], intent) -> dict:
    found = dict(
        OrderIntent.objects.filter(key=key, exchange_order_id__in=order_ids).values_list(
            "exchange_order_id", "pk"
        )
    )
    by_order = {oid: OrderIntent(pk=pk) for oid, pk in found.items()}
    if intent is not None and intent.exchange_order_id:
        by_order[intent.exchange_order_id] = intent
    return by_order

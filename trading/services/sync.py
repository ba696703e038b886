"""Account sync: balances, open orders and new fills of one key, incrementally and idempotently.

Fills are read per symbol from a stored cursor (Binance `fromId`), so each run costs what is new,
not the whole history; rows are unique by the exchange's ids, so a repeated or concurrent run
changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import ExchangeKey
from trading.exchange import errors
from trading.exchange.connect import client_for_key
from trading.exchange.types import Balance as BalanceData
from trading.exchange.types import ExchangeOrder, to_ms
from trading.key_queries import keys_without_secrets
from trading.models import Balance, Order, OrderIntent, SyncCursor
from trading.services.keys import key_record_error, key_reject
from trading.services.ledger import fills_record, order_record
from trading.services.submission import intent_follow

logger = logging.getLogger("trading.sync")
PAGE = 500
MAX_PAGES = 20
MAX_SYMBOLS = 50
MAX_VANISHED_CHECKS = 50


@dataclass(frozen=True)
class SyncReport:
    balances: int = 0
    open_orders: int = 0
    new_fills: int = 0
    skipped: bool = False


def account_sync(*, key_id) -> SyncReport:
    """Bring one key's balances, open orders and fills up to date from its exchange."""
    key = keys_without_secrets().get(pk=key_id)
    if key.status != ExchangeKey.Status.ACTIVE or not key.scope_read:
        return SyncReport(skipped=True)
    client = client_for_key(key)
    try:
        balances = client.fetch_balances()
        open_orders = client.fetch_open_orders()
        _store_balances(key, balances)
        _store_open_orders(key, client, open_orders)
        symbols = _symbols(key, client, balances, open_orders)
        new_fills = sum(_sync_fills(key, client, symbol) for symbol in symbols)
    except errors.KeyRejected as exc:
        if exc.disable_key:
            key_reject(key=key, reason=exc.user_message, detail=exc.detail)
        else:
            key_record_error(key=key, message=exc.user_message)
        raise
    except errors.ExchangeError as exc:
        key_record_error(key=key, message=exc.user_message)
        raise
    ExchangeKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now(), last_error="")
    return SyncReport(len(balances), len(open_orders), new_fills)


def _store_balances(key, balances: list[BalanceData]) -> None:
    now = timezone.now()
    with transaction.atomic():
        for b in balances:
            Balance.objects.update_or_create(
                key=key,
                asset=b.asset,
                defaults={"free": b.free, "used": b.used, "total": b.total, "updated_at": now},
            )
        Balance.objects.filter(key=key).exclude(asset__in=[b.asset for b in balances]).delete()


def _store_open_orders(key, client, open_orders: list[ExchangeOrder]) -> None:
    seen = set()
    for order in open_orders:
        row = order_record(key=key, order=order)
        intent_follow(row)
        seen.add(order.id)
    # Orders we still think are open but the exchange no longer lists: filled or cancelled.
    vanished = (
        Order.objects.filter(key=key, status=Order.Status.OPEN)
        .exclude(exchange_order_id__in=seen)
        .select_related("intent")[:MAX_VANISHED_CHECKS]
    )
    for row in vanished:
        try:
            order = client.fetch_order(symbol=row.symbol, order_id=row.exchange_order_id)
        except errors.OrderNotFound:
            row.status = Order.Status.CANCELED
            row.save(update_fields=["status", "updated_at"])
            continue
        intent_follow(order_record(key=key, order=order))


def _symbols(key, client, balances, open_orders) -> list[str]:
    symbols = set(SyncCursor.objects.filter(key=key).values_list("symbol", flat=True))
    symbols |= {o.symbol for o in open_orders}
    symbols |= set(
        OrderIntent.objects.filter(key=key).values_list("symbol", flat=True).distinct()[:100]
    )
    held = {b.asset for b in balances if b.total}
    if held:
        for symbol, market in client.markets().items():
            if market.get("base") in held and market.get("quote") in held:
                symbols.add(symbol)
    return sorted(symbols)[:MAX_SYMBOLS]


def _sync_fills(key, client, symbol: str) -> int:
    cursor, _ = SyncCursor.objects.get_or_create(
        key=key, symbol=symbol, kind=SyncCursor.Kind.TRADES
    )
    new = 0
    for _ in range(MAX_PAGES):
        if cursor.next_id:
            trades = client.fetch_my_trades(symbol=symbol, from_id=cursor.next_id, limit=PAGE)
        elif cursor.last_seen_at:
            trades = client.fetch_my_trades(
                symbol=symbol, since_ms=to_ms(cursor.last_seen_at), limit=PAGE
            )
        else:
            trades = client.fetch_my_trades(symbol=symbol, from_id="0", limit=PAGE)
        new += fills_record(key=key, trades=trades)
        if not trades:
            break
        last = trades[-1]
        cursor.next_id = str(int(last.id) + 1) if last.id.isdigit() else ""
        stamps = [t.timestamp for t in trades if t.timestamp]
        if stamps:
            cursor.last_seen_at = max(stamps + [cursor.last_seen_at or stamps[0]])
        cursor.save(update_fields=["next_id", "last_seen_at", "updated_at"])
        if len(trades) < PAGE or not cursor.next_id:
            break
    if new:
        _follow_filled(key)
    return new


def _follow_filled(key) -> None:
    # New fills may finish intents whose orders already left the open list.
    for row in (
        Order.objects.filter(key=key, intent__status=OrderIntent.Status.OPEN)
        .exclude(status=Order.Status.OPEN)
        .select_related("intent")[:100]
    ):
        intent_follow(row)

"""Workflows behind the dashboard's buttons: refresh, cancel everything, change own limits."""

from __future__ import annotations

from decimal import Decimal

from celery import chain
from django.core.cache import cache
from django.db import transaction

from accounts.models import ExchangeKey
from accounts.services.audit import audit_record
from trading.models import AccountLimits, Order
from trading.services.limits import limits_update
from trading.services.orders import order_cancel, order_cancel_all


def dashboard_refresh(*, user, quote: str = "USDT", key=None) -> int:
    """Queue a sync, then a price refresh, for the user's readable keys; return how many."""
    from trading.market_tasks import prices_refresh_task  # tasks import services
    from trading.tasks import account_sync_task

    keys = ExchangeKey.objects.filter(user=user, status=ExchangeKey.Status.ACTIVE, scope_read=True)
    if key is not None:
        keys = keys.filter(pk=key.pk)
    ids = [str(pk) for pk in keys.values_list("pk", flat=True)]
    for key_id in ids:
        # Prices follow the sync so they cover newly held assets; ids only in the messages.
        work = chain(account_sync_task.si(key_id), prices_refresh_task.si(key_id, quote))
        transaction.on_commit(work.apply_async)
    return len(ids)


MARKET_REFRESH_EVERY = 10  # seconds: the pages poll every 5 s, many users may watch a symbol


def market_refresh_queue(*, key, symbol: str, timeframe: str = "1h") -> bool:
    """Queue a fetch of one symbol's candles, book and ticker, at most once per interval."""
    from trading.market_tasks import market_refresh_task

    # cache.add is atomic across processes (Redis / file cache): one queued fetch per window.
    if not cache.add(
        f"market-refresh:{key.exchange}:{symbol}:{timeframe}", 1, MARKET_REFRESH_EVERY
    ):
        return False
    market_refresh_task.delay_on_commit(str(key.pk), symbol, timeframe)
    return True


def orders_cancel_all(*, user, key=None, symbol: str | None = None, request=None) -> int:
    """Queue the cancellation of every open order of the user (one key / symbol if given)."""
    if key is not None:
        return len(order_cancel_all(user=user, key=key, symbol=symbol, request=request))
    orders = Order.objects.filter(key__user=user, status=Order.Status.OPEN).select_related("key")
    if symbol:
        orders = orders.filter(symbol=symbol.upper())
    orders = orders.defer("key__api_key", "key__secret", "key__passphrase")
    return len([order_cancel(user=user, order=o, request=request) for o in orders])


def limits_change(
    *,
    user,
    max_order_notional: Decimal | None,
    max_orders_per_minute: int | None,
    allowed_symbols: list[str],
    request=None,
) -> AccountLimits:
    """Set the user's own limits (within the ceiling) and audit the change."""
    with transaction.atomic():
        row = limits_update(
            user=user,
            max_order_notional=max_order_notional,
            max_orders_per_minute=max_orders_per_minute,
            allowed_symbols=allowed_symbols,
        )
        audit_record(
            event_type="limits.changed",
            actor=user,
            request=request,
            target=row,
            detail={
                "max_order_notional": None
                if max_order_notional is None
                else str(max_order_notional),
                "max_orders_per_minute": max_orders_per_minute,
                "allowed_symbols": row.allowed_symbols,
            },
        )
    return row

"""Owner-scoped reads for the trading pages: nothing here returns another user's rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from trading.key_queries import with_key
from trading.models import Balance, Fill, Order, OrderIntent


def _day_start(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=timezone.get_current_timezone())


def balances_for_user(*, user, key_id=None) -> QuerySet[Balance]:
    """Return the user's balances, per key and asset, optionally for one key."""
    rows = with_key(Balance.objects.filter(key__user=user))
    if key_id:
        rows = rows.filter(key_id=key_id)
    return rows.order_by("key__label", "key_id", "asset")


def open_orders_for_user(*, user, key_id=None, symbol: str | None = None) -> QuerySet[Order]:
    """Return the user's open exchange orders, newest first, filtered by key and symbol."""
    rows = with_key(Order.objects.filter(key__user=user, status=Order.Status.OPEN), "intent")
    if key_id:
        rows = rows.filter(key_id=key_id)
    if symbol:
        rows = rows.filter(symbol=symbol.upper())
    return rows.order_by("-placed_at", "-pk")


def fills_for_user(
    *,
    user,
    key_id=None,
    symbol: str | None = None,
    side: str | None = None,
    source: str | None = None,
    date_from: date | datetime | None = None,
    date_to: date | datetime | None = None,
) -> QuerySet[Fill]:
    """Return the user's fills, newest first; date_to is inclusive of its whole day."""
    rows = with_key(Fill.objects.filter(key__user=user))
    if key_id:
        rows = rows.filter(key_id=key_id)
    if symbol:
        rows = rows.filter(symbol=symbol.upper())
    if side:
        rows = rows.filter(side=side)
    if source:
        rows = rows.filter(intent__source=source)
    since, before = fill_time_bounds(date_from, date_to)
    if since:
        rows = rows.filter(executed_at__gte=since)
    if before:
        rows = rows.filter(executed_at__lt=before)
    return rows.order_by("-executed_at", "-pk")


def fill_time_bounds(date_from, date_to) -> tuple[datetime | None, datetime | None]:
    """(since, before) for fills_for_user's dates: date_to is inclusive of its whole day."""
    since = _day_start(date_from) if date_from else None
    before = None
    if date_to:
        before = date_to if isinstance(date_to, datetime) else _day_start(date_to) + _ONE_DAY
    return since, before


def fills_totals(fills: QuerySet[Fill]) -> dict:
    """Return summed amount, cost and fee over a fills queryset (one query)."""
    return fills.aggregate(amount=Sum("amount"), cost=Sum("cost"), fee=Sum("fee"))


def order_get_for_user(*, user, id) -> Order:
    """Return one of the user's exchange orders, or 404."""
    return get_object_or_404(with_key(Order.objects.all(), "intent"), pk=id, key__user=user)


def intent_get_for_user(*, user, id) -> OrderIntent:
    """Return one of the user's order intents, or 404."""
    return get_object_or_404(with_key(OrderIntent.objects.all()), pk=id, user=user)


def intents_for_user(*, user, key_id=None, unfinished: bool = False) -> QuerySet[OrderIntent]:
    """Return the user's order intents, newest first."""
    rows = with_key(OrderIntent.objects.filter(user=user))
    if key_id:
        rows = rows.filter(key_id=key_id)
    if unfinished:
        rows = rows.exclude(status__in=OrderIntent.FINAL)
    return rows.order_by("-created_at")


_ONE_DAY = timedelta(days=1)

"""Account limits: what a user may trade, checked before any order reaches an exchange."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from trading import sql
from trading.models import AccountLimits


@dataclass(frozen=True)
class EffectiveLimits:
    max_order_notional: Decimal
    max_orders_per_minute: int
    allowed_symbols: frozenset[str]  # empty: any symbol
    halted: bool


class LimitExceeded(Exception):
    """An order breaks one of the user's limits; str() says which, for the user."""

    def __init__(self, reason: str, *, rate: bool = False):
        self.reason = reason
        self.rate = rate
        super().__init__(reason)


def _tighter(user_value, ceiling):
    values = [v for v in (user_value, ceiling) if v is not None]
    return min(values) if values else None


def _effective(values: tuple | None) -> EffectiveLimits:
    """The limits in force from a limits row's values (sql.LIMIT_VALUE_FIELDS), or None."""
    if values is None:
        values = (None, None, None, [], None, None, [], False)
    _, notional, rate, symbols, ceiling_notional, ceiling_rate, ceiling_symbols, halted = values
    if ceiling_notional is None:
        ceiling_notional = settings.TRADING_DEFAULT_MAX_ORDER_NOTIONAL
    if ceiling_rate is None:
        ceiling_rate = settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE
    symbols = {s.upper() for s in symbols or []}
    ceiling_symbols = {s.upper() for s in ceiling_symbols or []}
    if symbols and ceiling_symbols:
        symbols &= ceiling_symbols
    else:
        symbols = symbols or ceiling_symbols
    return EffectiveLimits(
        max_order_notional=_tighter(notional, ceiling_notional),
        max_orders_per_minute=_tighter(rate, ceiling_rate),
        allowed_symbols=frozenset(symbols),
        halted=halted,
    )


def limits_effective(*, user) -> EffectiveLimits:
    """Return the limits in force for a user: the tighter of theirs and the admin's ceiling."""
    return _effective(sql.limits_values(user_id=user.pk)[0])


def limits_enforce(
    *, limits: EffectiveLimits, symbol: str, notional: Decimal | None, recent: int | None = None
) -> None:
    """Raise LimitExceeded if an order breaks `limits`; `recent`: the user's orders in the last
    minute (None: the rate is not checked)."""
    if limits.halted:
        raise LimitExceeded("Trading is halted for your account by an administrator.")
    if limits.allowed_symbols and symbol.upper() not in limits.allowed_symbols:
        raise LimitExceeded(f"{symbol} is not in your allowed symbols.")
    if notional is not None and notional > limits.max_order_notional:
        raise LimitExceeded(
            f"The order is worth {notional.normalize():f}, above your limit of "
            f"{limits.max_order_notional.normalize():f} per order."
        )
    if recent is not None and recent >= limits.max_orders_per_minute:
        raise LimitExceeded(
            f"You reached your limit of {limits.max_orders_per_minute} orders per minute; "
            "wait a moment.",
            rate=True,
        )


def limits_check(*, user, symbol: str, notional: Decimal | None, count_rate: bool = True) -> None:
    """Raise LimitExceeded if an order on `symbol` worth `notional` breaks the user's limits."""
    since = timezone.now() - timedelta(seconds=60) if count_rate else None
    values, recent, _ = sql.limits_values(user_id=user.pk, placed_since=since)
    limits_enforce(limits=_effective(values), symbol=symbol, notional=notional, recent=recent)


def limits_effective_from(values: tuple | None) -> EffectiveLimits:
    """The limits in force from a limits row's values (trading.sql.LIMIT_VALUE_FIELDS, None
    without a row) that the caller read itself (the worker reads them with its claim)."""
    return _effective(values)


def limits_update(
    *,
    user,
    max_order_notional: Decimal | None,
    max_orders_per_minute: int | None,
    allowed_symbols: list[str],
) -> AccountLimits:
    """Set a user's own limits; they may only be tighter than the admin's ceilings."""
    row, _ = AccountLimits.objects.get_or_create(user=user)
    ceiling_notional = row.ceiling_max_order_notional or settings.TRADING_DEFAULT_MAX_ORDER_NOTIONAL
    ceiling_rate = (
        row.ceiling_max_orders_per_minute or settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE
    )
    errors = {}
    if max_order_notional is not None and max_order_notional > ceiling_notional:
        errors["max_order_notional"] = f"The most you may set is {ceiling_notional.normalize():f}."
    if max_orders_per_minute is not None and max_orders_per_minute > ceiling_rate:
        errors["max_orders_per_minute"] = f"The most you may set is {ceiling_rate}."
    symbols = sorted({s.strip().upper() for s in allowed_symbols if s.strip()})
    ceiling_symbols = {s.upper() for s in row.ceiling_allowed_symbols or []}
    if ceiling_symbols and not set(symbols) <= ceiling_symbols:
        errors["allowed_symbols"] = "Only symbols your administrator allows: " + ", ".join(
            sorted(ceiling_symbols)
        )
    if errors:
        raise ValidationError(errors)
    row.max_order_notional = max_order_notional
    row.max_orders_per_minute = max_orders_per_minute
    row.allowed_symbols = symbols
    row.full_clean()
    row.save(
        update_fields=[
            "max_order_notional",
            "max_orders_per_minute",
            "allowed_symbols",
            "updated_at",
        ]
    )
    return row

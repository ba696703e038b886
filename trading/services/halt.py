"""The kill switch: halt all trading, and cancel what is open on every affected key."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from trading.exchange import errors
from trading.exchange.connect import client_for_key
from trading.key_queries import keys_without_secrets
from trading.models import AccountLimits, Order, TradingHalt

logger = logging.getLogger("trading.halt")


def trading_halt_set(*, actor, active: bool, reason: str = "", request=None) -> TradingHalt:
    """Switch the global halt on or off; switching it on queues cancel-all for affected keys."""
    from trading.tasks import key_cancel_all_task  # tasks import services, not the reverse

    with transaction.atomic():
        halt, _ = TradingHalt.objects.select_for_update().get_or_create(pk=1)
        halt.active, halt.reason = active, reason.strip()[:300]
        halt.changed_by, halt.changed_at = actor, timezone.now()
        halt.save()
        audit_record(
            event_type="trading.halted" if active else "trading.resumed",
            actor=actor,
            request=request,
            target=halt,
            detail={"reason": halt.reason},
        )
        if active:
            from trading.services.bots import bots_kill_switch  # bots import this module

            bots_kill_switch(actor=actor, reason=halt.reason)
            key_ids = (
                Order.objects.filter(status=Order.Status.OPEN)
                .values_list("key_id", flat=True)
                .distinct()
            )
            for key_id in key_ids:
                key_cancel_all_task.delay_on_commit(str(key_id))
    return halt


def account_limits_admin_save(*, actor, limits: AccountLimits, request=None) -> AccountLimits:
    """Save an admin's ceilings and per-user halt for one user; audited.

    Switching the user's halt on stops their bots and cancels the open orders on their keys,
    as the global kill switch does for everyone.
    """
    from trading.tasks import key_cancel_all_task  # tasks import services, not the reverse

    with transaction.atomic():
        was_halted = AccountLimits.objects.filter(pk=limits.pk, trading_halted=True).exists()
        limits.save()
        audit_record(
            event_type="limits.ceiling_changed",
            actor=actor,
            request=request,
            target=limits,
            detail={
                "user": limits.user.get_username(),
                "ceiling_max_order_notional": _plain(limits.ceiling_max_order_notional),
                "ceiling_max_orders_per_minute": limits.ceiling_max_orders_per_minute,
                "ceiling_allowed_symbols": list(limits.ceiling_allowed_symbols or []),
                "trading_halted": limits.trading_halted,
            },
        )
        if limits.trading_halted and not was_halted:
            from trading.services.bots import bots_kill_switch  # bots import this module

            audit_record(
                event_type="trading.user_halted",
                actor=actor,
                request=request,
                target=limits,
                detail={"user": limits.user.get_username()},
            )
            bots_kill_switch(
                actor=actor, reason="trading halted by an administrator", user=limits.user
            )
            key_ids = (
                Order.objects.filter(status=Order.Status.OPEN, key__user=limits.user)
                .values_list("key_id", flat=True)
                .distinct()
            )
            for key_id in key_ids:
                key_cancel_all_task.delay_on_commit(str(key_id))
        elif was_halted and not limits.trading_halted:
            audit_record(
                event_type="trading.user_resumed",
                actor=actor,
                request=request,
                target=limits,
                detail={"user": limits.user.get_username()},
            )
    return limits


def _plain(amount) -> str | None:
    """A Decimal as people write it: 500, not 500.000000000000000000 or 5E+2."""
    return None if amount is None else f"{amount.normalize():f}"


def trading_is_halted() -> bool:
    """Return True while the global kill switch is on."""
    return TradingHalt.objects.filter(pk=1, active=True).exists()


def key_cancel_all(*, key_id) -> int:
    """Cancel every open order of a key on the exchange (the halt's emergency path)."""
    key = keys_without_secrets().get(pk=key_id)
    client = client_for_key(key)
    symbols = sorted(
        set(
            Order.objects.filter(key=key, status=Order.Status.OPEN).values_list("symbol", flat=True)
        )
        | {o.symbol for o in client.fetch_open_orders()}
    )
    cancelled = 0
    for symbol in symbols:
        try:
            cancelled += client.cancel_all_orders(symbol)
        except errors.OrderNotFound:
            continue
    audit_record(
        event_type="orders.cancel_all",
        target=key,
        outcome=AuditEvent.Outcome.SUCCESS,
        detail={"symbols": symbols, "cancelled": cancelled},
    )
    return cancelled

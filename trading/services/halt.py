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
from trading.models import Order, TradingHalt

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
            key_ids = (
                Order.objects.filter(status=Order.Status.OPEN)
                .values_list("key_id", flat=True)
                .distinct()
            )
            for key_id in key_ids:
                key_cancel_all_task.delay_on_commit(str(key_id))
    return halt


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

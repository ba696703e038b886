"""The one way an OrderIntent changes state: a compare-and-set UPDATE plus its audit row."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from keytrade.rawsql import atomic_joined, db
from trading import sql
from trading.models import OrderIntent

logger = logging.getLogger("trading.orders")
S = OrderIntent.Status

_FAILURE_STATES = {S.REJECTED, S.FAILED_UNCONFIRMED}


def intent_transition(
    intent: OrderIntent,
    *,
    to: str,
    frm: tuple[str, ...],
    fields: dict | None = None,
    detail: dict | None = None,
    actor=None,
    request=None,
    savepoint: bool = True,
) -> bool:
    """Move an intent from one of `frm` to `to` if nobody else moved it first; audit the change.

    Returns False (and changes nothing) when the row is no longer in one of `frm`: another
    worker or a reconcile got there first, which is normal under duplicate delivery.
    `savepoint=False` is for a caller whose own transaction fails as a whole if this does.
    """
    fields = dict(fields or {})
    block = transaction.atomic(savepoint=True) if savepoint else atomic_joined(db())
    with block:
        return _move(intent, to, frm, fields, detail, actor, request)


def _move(intent, to, frm, fields, detail, actor, request) -> bool:
    now = timezone.now()
    if any(hasattr(v, "resolve_expression") or isinstance(v, Model) for v in fields.values()):
        updated = OrderIntent.objects.filter(pk=intent.pk, status__in=frm).update(
            status=to, updated_at=now, **fields
        )
    else:  # the common case, without compiling an UPDATE per transition
        updated = sql.intent_move(intent_id=intent.pk, to=to, frm=frm, now=now, fields=fields)
    if updated != 1:
        return False
    for name, value in fields.items():
        setattr(intent, name, value)
    previous, intent.status, intent.updated_at = intent.status, to, now
    intent_audit(intent, previous=previous, detail=detail, actor=actor, request=request)
    return True


def intent_audit(intent: OrderIntent, *, previous: str, detail=None, actor=None, request=None):
    """Write the audit row (and log line) for an intent that just entered its current state."""
    to = intent.status
    audit_record(
        event_type=f"order.{to.lower()}",
        actor=actor,
        request=request,
        target=intent,
        outcome=(
            AuditEvent.Outcome.FAILURE if to in _FAILURE_STATES else AuditEvent.Outcome.SUCCESS
        ),
        detail={
            "from": previous,
            "kind": intent.kind,
            "key": str(intent.key_id),
            "symbol": intent.symbol,
            "side": intent.side,
            "type": intent.type,
            "client_order_id": intent.client_order_id,
            "attempt": intent.attempt,
            **(detail or {}),
        },
    )
    if logger.isEnabledFor(logging.INFO):
        extra = {"intent": str(intent.pk), "from": previous, **(detail or {})}
        logger.info("order %s", to.lower(), extra=extra)

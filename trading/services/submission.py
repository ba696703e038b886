"""The worker side of the order path: claim, risk checks, send once, classify, reconcile.

Services return a Followup (what to run next and when) instead of sleeping or scheduling;
the Celery tasks turn it into a countdown. This keeps retries visible, bounded and testable.

Invariants: an intent is sent only by the worker that moved it NEW -> SUBMITTING; after any
doubt (timeout, 5xx, lost worker) it is looked up by its client order id before anything else;
a market order is never sent twice; every state change goes through intent_transition (audited).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services.keys import KeyUndecryptable, key_credentials_sealed_from
from trading import sql
from trading.exchange import errors
from trading.exchange.connect import client_for_key
from trading.exchange.types import ExchangeOrder
from trading.key_queries import with_key
from trading.models import Order, OrderIntent, TradingHalt
from trading.services.keys import key_reject
from trading.services.ledger import fills_record, order_record
from trading.services.limits import LimitExceeded, limits_effective_from, limits_enforce
from trading.services.locks import LockBusy, key_lock
from trading.services.transitions import intent_audit, intent_transition

logger = logging.getLogger("trading.orders")
S = OrderIntent.Status
K = OrderIntent.Kind

# Seconds before each reconcile lookup (Freqtrade's profile); ~35 s window in total.
RECONCILE_SCHEDULE = (1, 2, 5, 10, 17)


def _reconcile_schedule() -> tuple:
    # A settings override exists for the process-level tests, which cannot wait 35 s.
    return tuple(getattr(settings, "ORDER_RECONCILE_SCHEDULE", RECONCILE_SCHEDULE))


MAX_RECONCILE_STEPS = 10
MAX_ATTEMPTS = 6
_STATUS_FROM_EXCHANGE = {
    "open": S.OPEN,
    "closed": S.FILLED,
    "canceled": S.CANCELED,
    "expired": S.CANCELED,
    "rejected": S.REJECTED,
}


@dataclass(frozen=True)
class Followup:
    """Run `task` ("submit" or "reconcile") for the same intent after `countdown` seconds."""

    task: str
    countdown: float
    step: int = 0


# What the worker reads of an intent's relations. Loading the whole key (30-odd columns), user
# and target order with every claim cost more than the claim itself; any other field loads on
# first use (the rare paths: disabling a key, notifying its owner). Credentials never load here.
_RELATED_FIELDS = (
    "key__user",
    "key__exchange",
    "key__label",
    "key__fingerprint",
    "key__status",
    "key__scope_read",
    "key__scope_trade",
    "key__exchange_expires_at",
    "user__username",
    "target_order__exchange_order_id",
)


def _intents():
    intent_fields = [f.name for f in OrderIntent._meta.concrete_fields]
    return OrderIntent.objects.select_related("key", "user", "target_order").only(
        *intent_fields, *_RELATED_FIELDS
    )


# --- submit --------------------------------------------------------------------------------


def _claim(intent_id, worker: str) -> sql.ForWorker | None:
    now = timezone.now()
    with transaction.atomic():
        # The compare-and-set that makes duplicate deliveries harmless: exactly one row or stop.
        if not sql.intent_claim(intent_id=intent_id, worker=worker[:200], now=now):
            logger.info("already_claimed", extra={"intent": str(intent_id), "worker": worker})
            return None
        # After the claim, in one statement: the intent, its key's credentials as stored, the
        # user's limits and the global halt (the risk checks below use these, before any send).
        claimed = sql.intent_for_worker(intent_id=intent_id)
        intent_audit(claimed.intent, previous=S.NEW, detail={"worker": worker})
    return claimed


def order_submit(*, intent_id, worker: str = "") -> Followup | None:
    """Claim a NEW intent and send it to the exchange once; return what to do next."""
    claimed = _claim(intent_id, worker)
    if claimed is None:
        return None
    intent = claimed.intent
    try:
        sealed = key_credentials_sealed_from(key_id=intent.key_id, row=claimed.credentials)
        client = client_for_key(intent.key, sealed=sealed)
    except KeyUndecryptable:
        _reject(intent, "This key can no longer be decrypted, so nothing was sent.")
        return None
    try:
        if _risk_stopped(intent, client, limits=claimed.limits, halted=claimed.halted):
            return None
        with key_lock(intent.key_id):
            return _send(intent, client)
    except LockBusy:
        return _requeue(intent, delay=1.0, reason="key busy")
    except errors.ExchangeError as exc:  # the market-price lookup of the risk check failed
        return _on_send_error(intent, exc)


def _risk_stopped(intent: OrderIntent, client, *, limits: tuple | None, halted: bool) -> bool:
    # A halt stops new risk, never a cancellation; limits apply to new orders. The global halt
    # and the user's limits (`limits`: their row's values) were read with the claim.
    effective = None
    if intent.kind != K.CANCEL:
        effective = limits_effective_from(limits)
        halt = TradingHalt.objects.filter(pk=1, active=True).first() if halted else None
        if halt is not None:
            intent_transition(
                intent,
                to=S.CANCELLED_BY_HALT,
                frm=(S.SUBMITTING,),
                fields={"reject_reason": "Trading is halted: " + (halt.reason or "")},
                detail={"halt": halt.reason},
            )
            return True
    key = intent.key
    if key.status != "active" or not key.scope_trade:
        _reject(intent, "This key is no longer active for trading, so nothing was sent.")
        return True
    if effective is None:
        return False
    notional = _notional(intent, client)
    try:
        limits_enforce(limits=effective, symbol=intent.symbol, notional=notional)
    except LimitExceeded as exc:
        stop = S.CANCELLED_BY_HALT if "halted" in exc.reason else S.REJECTED
        intent_transition(
            intent,
            to=stop,
            frm=(S.SUBMITTING,),
            fields={"reject_reason": exc.reason[:300]},
            detail={"limit": exc.reason},
        )
        return True
    return False


def _notional(intent: OrderIntent, client) -> Decimal | None:
    if intent.price is not None:
        return intent.amount * intent.price
    ticker = client.fetch_ticker(intent.symbol)  # public data; the order itself is not sent yet
    price = ticker.ask if intent.side == "buy" else ticker.bid
    price = price or ticker.last
    return intent.amount * price if price else None


def _send(intent: OrderIntent, client) -> Followup | None:
    try:
        if intent.kind == K.CANCEL:
            order = client.cancel_order(
                symbol=intent.symbol, order_id=intent.target_order.exchange_order_id
            )
        elif intent.kind == K.AMEND:
            order = client.edit_order(
                order_id=intent.target_order.exchange_order_id,
                symbol=intent.symbol,
                side=intent.side,
                type=intent.type,
                amount=intent.amount,
                price=intent.price,
                client_order_id=intent.client_order_id,
            )
        else:
            order = client.create_order(
                symbol=intent.symbol,
                side=intent.side,
                type=intent.type,
                amount=intent.amount,
                price=intent.price,
                client_order_id=intent.client_order_id,
            )
    except errors.ExchangeError as exc:
        return _on_send_error(intent, exc)
    intent_apply(intent, order, frm=(S.SUBMITTING,))
    return None


def _on_send_error(intent: OrderIntent, exc: errors.ExchangeError) -> Followup | None:
    if isinstance(exc, errors.DuplicateOrder):
        # Our id is already on the exchange: an earlier attempt landed. Look it up.
        _to_unknown(intent, "duplicate client order id: earlier attempt landed")
        return Followup("reconcile", 0, 0)
    if isinstance(exc, errors.OutcomeUnknown):
        _to_unknown(intent, exc.detail)
        return Followup("reconcile", _reconcile_schedule()[0], 0)
    if isinstance(exc, errors.RateLimited | errors.TimestampSkew | errors.ExchangeUnavailable):
        delay = getattr(exc, "retry_after", None) or min(2**intent.attempt, 30)
        return _requeue(intent, delay=delay, reason=type(exc).__name__, detail=exc.detail)
    if isinstance(exc, errors.KeyRejected) and exc.disable_key:
        key_reject(key=intent.key, reason=exc.user_message, detail=exc.detail)
    if isinstance(exc, errors.OrderNotFound) and intent.kind != K.PLACE:
        _reject(intent, "That order is no longer open on the exchange.", exc.detail)
        return None
    _reject(intent, exc.user_message, exc.detail)
    return None


def _reject(intent: OrderIntent, reason: str, detail: str = "") -> None:
    intent_transition(
        intent,
        to=S.REJECTED,
        frm=(S.SUBMITTING, S.UNKNOWN),
        fields={"reject_reason": reason[:300]},
        detail={"reason": reason, "error": detail[:300]},
    )


def _to_unknown(intent: OrderIntent, why: str) -> None:
    intent_transition(intent, to=S.UNKNOWN, frm=(S.SUBMITTING,), detail={"why": why[:300]})


def _requeue(intent, *, delay: float, reason: str, detail: str = "") -> Followup | None:
    """The request provably did not land: back to NEW, to be sent later with the same id."""
    if intent.attempt >= MAX_ATTEMPTS:
        _reject(intent, "The exchange could not take the order after several tries.", detail)
        return None
    retry_at = timezone.now() + timedelta(seconds=delay)
    moved = intent_transition(
        intent,
        to=S.NEW,
        frm=(S.SUBMITTING, S.UNKNOWN),
        fields={"retry_at": retry_at},
        detail={"retry_in": round(delay, 3), "reason": reason},
    )
    return Followup("submit", delay) if moved else None


# --- applying what the exchange says ---------------------------------------------------------


def intent_apply(intent: OrderIntent, order: ExchangeOrder, *, frm: tuple[str, ...]) -> bool:
    """Store an exchange order's state on its intent, the order mirror and the fills."""
    key = intent.key
    if intent.kind == K.CANCEL:
        to = S.CANCELED if order.status in ("canceled", "expired", "closed") else S.OPEN
        fields = {}
    else:
        to = _STATUS_FROM_EXCHANGE.get(order.status, S.OPEN)
        fields = {
            "exchange_order_id": order.id,
            "filled": order.filled,
            "average": order.average,
            "fee": order.fee,
            "fee_currency": order.fee_currency or intent.fee_currency,
        }
    with transaction.atomic():
        # No savepoint of its own: nothing here catches its failure, which fails the whole block.
        moved = intent_transition(
            intent,
            to=to,
            frm=frm,
            fields=fields,
            detail={"exchange_order_id": order.id, "status": order.status},
            savepoint=False,
        )
        if intent.kind == K.CANCEL:
            row = order_record(key=key, order=order)
        else:
            row = order_record(key=key, order=order, intent=intent)
            fills_record(key=key, trades=order.trades, intent=intent)
        if intent.kind == K.AMEND and intent.target_order_id:
            _replaced(intent, row)
        if intent.kind == K.CANCEL and row.intent_id:
            intent_follow(row)
    return moved


def _replaced(intent: OrderIntent, new_row: Order) -> None:
    # cancelReplace cancelled the original: its mirror row and its own intent are done.
    old = Order.objects.select_related("intent").get(pk=intent.target_order_id)
    if old.pk != new_row.pk and old.status == Order.Status.OPEN:
        old.status = Order.Status.CANCELED
        old.save(update_fields=["status", "updated_at"])
        if old.intent is not None:
            intent_transition(
                old.intent, to=S.CANCELED, frm=(S.OPEN,), detail={"replaced_by": str(intent.pk)}
            )


def intent_follow(row: Order) -> None:
    """Carry an exchange order's new state (seen by sync or a cancel) to its placing intent."""
    intent = row.intent if row.intent_id else None
    if intent is None or intent.kind == K.CANCEL:
        return
    to = _STATUS_FROM_EXCHANGE.get(row.status)
    if to is None or (to == intent.status and row.filled == intent.filled):
        return
    frm = (S.OPEN, S.UNKNOWN, S.FAILED_UNCONFIRMED, S.SUBMITTING)
    if to == intent.status:
        OrderIntent.objects.filter(pk=intent.pk).update(filled=row.filled, average=row.average)
        return
    intent_transition(
        intent,
        to=to,
        frm=frm,
        fields={
            "exchange_order_id": row.exchange_order_id,
            "filled": row.filled,
            "average": row.average,
        },
        detail={"exchange_order_id": row.exchange_order_id, "seen_by": "sync"},
    )


# --- reconcile ---------------------------------------------------------------------------------


def order_reconcile(*, intent_id, step: int = 0) -> Followup | None:
    """Find out what became of an UNKNOWN intent by its client order id; never re-create blindly."""
    intent = _intents().filter(pk=intent_id, status=S.UNKNOWN).first()
    if intent is None:
        return None
    try:
        client = client_for_key(intent.key)
    except KeyUndecryptable:
        _unconfirmed(intent, "The key can no longer be decrypted, so the order cannot be checked.")
        return None
    try:
        order = _lookup(intent, client)
    except errors.OrderNotFound:
        return _not_found(intent, client, step)
    except errors.KeyRejected as exc:
        if exc.disable_key:
            key_reject(key=intent.key, reason=exc.user_message, detail=exc.detail)
        _unconfirmed(intent, exc.user_message)
        return None
    except errors.ExchangeError as exc:
        return _lookup_failed(intent, step, exc)
    if intent.kind == K.CANCEL and order.is_open:
        return _requeue(intent, delay=0, reason="cancel did not land")
    _apply_with_fills(intent, order, client)
    return None


def _lookup(intent: OrderIntent, client) -> ExchangeOrder:
    if intent.kind == K.CANCEL:
        return client.fetch_order(
            symbol=intent.symbol, order_id=intent.target_order.exchange_order_id
        )
    return client.fetch_order(symbol=intent.symbol, client_order_id=intent.client_order_id)


def _apply_with_fills(intent, order: ExchangeOrder, client) -> None:
    intent_apply(intent, order, frm=(S.UNKNOWN,))
    if intent.kind != K.CANCEL and order.filled and not order.trades:
        try:
            trades = client.fetch_order_trades(symbol=intent.symbol, order_id=order.id)
        except errors.ExchangeError:
            return  # account sync picks the fills up later; they are unique by trade id
        fills_record(key=intent.key, trades=trades, intent=intent)


def _not_found(intent: OrderIntent, client, step: int) -> Followup | None:
    schedule = _reconcile_schedule()
    if step + 1 < len(schedule):
        # Visibility lag (Binance -2013 right after an ACK): not found yet is not lost.
        return Followup("reconcile", schedule[step + 1], step + 1)
    if intent.kind == K.CANCEL:
        _reject(intent, "That order no longer exists on the exchange.")
        return None
    try:
        for order in client.fetch_open_orders(intent.symbol):
            if order.client_order_id == intent.client_order_id:
                _apply_with_fills(intent, order, client)
                return None
    except errors.ExchangeError as exc:
        return _lookup_failed(intent, step, exc)
    if intent.type == OrderIntent.Type.MARKET:
        # A market order with no trace may still have filled: a second send could double it.
        _unconfirmed(intent, "The exchange never confirmed this market order; check it there.")
        return None
    # A limit order is safe to resend with the SAME id: the exchange refuses a duplicate.
    return _requeue(intent, delay=0, reason="not found after the reconcile window")


def _lookup_failed(intent, step: int, exc: errors.ExchangeError) -> Followup | None:
    if step + 1 >= MAX_RECONCILE_STEPS:
        _unconfirmed(intent, "keytrade could not reach the exchange to confirm this order.")
        return None
    schedule = _reconcile_schedule()
    wait = schedule[min(step + 1, len(schedule) - 1)]
    return Followup("reconcile", max(wait, getattr(exc, "retry_after", 0)), step + 1)


def _unconfirmed(intent: OrderIntent, reason: str) -> None:
    if intent_transition(
        intent,
        to=S.FAILED_UNCONFIRMED,
        frm=(S.UNKNOWN, S.SUBMITTING),
        fields={"reject_reason": reason[:300]},
        detail={"reason": reason},
    ):
        logger.error(
            "order_unconfirmed: needs a person",
            extra={"intent": str(intent.pk), "key": str(intent.key_id), "reason": reason},
        )


# --- recovery after a lost worker ---------------------------------------------------------------


def orders_recover(*, worker: str = "") -> list[tuple[str, Followup]]:
    """Reconcile unfinished sends: every UNKNOWN, and SUBMITTING left by this worker or stale."""
    lease = timezone.now() - timedelta(seconds=settings.ORDER_CLAIM_LEASE_SECONDS)
    orphaned = Q(claimed_at__lt=lease) | Q(claimed_at__isnull=True)
    if worker:
        orphaned |= Q(claimed_by=worker)
    pending = with_key(OrderIntent.objects.all()).filter(
        Q(status=S.UNKNOWN) | (Q(status=S.SUBMITTING) & orphaned)
    )
    followups = []
    for intent in pending.order_by("created_at"):
        if intent.status == S.SUBMITTING:
            intent_transition(
                intent,
                to=S.UNKNOWN,
                frm=(S.SUBMITTING,),
                detail={"why": "worker lost while sending", "worker": worker},
            )
        try:
            followup = order_reconcile(intent_id=intent.pk, step=0)
        except Exception:  # one bad intent must not stop recovery of the others
            logger.exception("reconcile failed during recovery", extra={"intent": str(intent.pk)})
            followup = Followup("reconcile", _reconcile_schedule()[1], 1)
        if followup is not None:
            followups.append((str(intent.pk), followup))
    return followups


def orders_stale_new(*, older_than: float = 30.0) -> list[str]:
    """Return NEW intents whose queue message seems lost (the outbox sweep re-sends them)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than)
    rows = OrderIntent.objects.filter(status=S.NEW, updated_at__lt=cutoff).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )
    return [str(pk) for pk in rows.values_list("pk", flat=True)[:500]]

"""Order intents from people and bots: validate, check limits, record, queue. No network here.

Each public service writes the intent and its audit row in one transaction and queues the
worker task on commit with the intent id only. The worker side lives in submission.py.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from trading import sql
from trading.key_queries import with_key
from trading.models import Order, OrderIntent
from trading.services.limits import LimitExceeded, limits_check

S = OrderIntent.Status
_SIDES, _TYPES = tuple(OrderIntent.Side.values), tuple(OrderIntent.Type.values)
PLACE_PERMISSION = "accounts.place_orders"
_CLEANED = {"kind", "source", "bot_tag", "symbol", "side", "type", "amount", "price"}
_NOT_CLEANED = [f.name for f in OrderIntent._meta.fields if f.name not in _CLEANED]


class OrderRefused(Exception):
    """The order was refused before any request; `reason` is for the user."""

    def __init__(self, reason: str, *, rate_limited: bool = False):
        self.reason = reason
        self.rate_limited = rate_limited
        super().__init__(reason)


def _queue_submit(intent: OrderIntent) -> None:
    from trading.tasks import order_submit_task  # tasks import services, not the reverse

    intent_id = str(intent.pk)
    # apply_async_on_commit(intent_id): published after the commit, by the task's short road
    # (keytrade.publish.PublishTask: Celery's own message, on a producer this thread keeps).
    # The argument repr is given (a plain repr of one id string is what Celery's safe repr
    # writes), and the default queue is not declared again per message: keytrade's brokers
    # (Redis, the filesystem) deliver to it by name, and the worker declares its queues.
    order_submit_task.apply_async_on_commit(
        (intent_id,), {}, argsrepr=repr((intent_id,)), kwargsrepr="{}", declare=[]
    )


def _decimal(value, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OrderRefused(f"The {name} is not a number.") from None
    if not number.is_finite() or number <= 0:
        raise OrderRefused(f"The {name} must be greater than zero.")
    return number


def _check_key(key, user) -> None:
    if not user.has_perm(PLACE_PERMISSION):
        raise OrderRefused("Your role can view but not trade.")
    # Callers load the key with key_get_for_user; this is a second line of defence.
    if key.user_id != user.pk:
        raise OrderRefused("This key does not belong to you.")
    if key.status != "active":
        raise OrderRefused("This key is not active, so it cannot trade.")
    if not key.scope_trade:
        raise OrderRefused("This key is not enabled for trading: turn on its trade scope first.")


def _refuse(*, user, key, request, reason: str, detail: dict, rate: bool = False):
    audit_record(
        event_type="order.refused",
        actor=user,
        request=request,
        target=key,
        outcome=AuditEvent.Outcome.DENIED,
        detail={**detail, "reason": reason},
    )
    raise OrderRefused(reason, rate_limited=rate)


def _checked(*, user, key, request, symbol, side, type, amount, price) -> dict:
    symbol = (symbol or "").strip().upper()
    spec = {
        "key": str(key.pk),
        "symbol": symbol,
        "side": side,
        "type": type,
        "amount": str(amount),
        "price": None if price is None else str(price),
    }
    try:
        _check_key(key, user)
        if side not in _SIDES:
            raise OrderRefused("Choose buy or sell.")
        if type not in _TYPES:
            raise OrderRefused("Choose a limit or a market order.")
        amount_d = _decimal(amount, "amount")
        if amount_d is None:
            raise OrderRefused("Enter an amount.")
        price_d = _decimal(price, "price") if type == OrderIntent.Type.LIMIT else None
        if type == OrderIntent.Type.LIMIT and price_d is None:
            raise OrderRefused("A limit order needs a price.")
        notional = amount_d * price_d if price_d is not None else None
        limits_check(user=user, symbol=symbol, notional=notional)
    except LimitExceeded as exc:
        _refuse(user=user, key=key, request=request, reason=exc.reason, detail=spec, rate=exc.rate)
    except OrderRefused as exc:
        _refuse(user=user, key=key, request=request, reason=exc.reason, detail=spec)
    return {"symbol": symbol, "side": side, "type": type, "amount": amount_d, "price": price_d}


def _create_intent(*, user, key, request, source, intent_id=None, **fields) -> OrderIntent:
    if intent_id is not None:
        # A bot derives the id from (bot, tick, leg): a retried tick finds its intent again.
        fields["id"] = intent_id
    intent = OrderIntent(user=user, key=key, source=source, **fields)
    try:
        # Field validation of what callers supply. The related rows were just loaded and
        # owner-checked (a bot's too), the client order id comes from a fresh UUID, the state,
        # counters and times are set by the order path itself, and _checked() enforced the
        # price rule: re-proving them costs time (or a query each, for relations and
        # constraints), and the database still enforces every constraint on insert.
        intent.full_clean(exclude=_NOT_CLEANED, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise OrderRefused("; ".join(exc.messages)) from None
    with transaction.atomic():
        sql.intent_insert(intent)
        audit_record(
            event_type="order.new",
            actor=user,
            request=request,
            target=intent,
            detail={
                "kind": intent.kind,
                "key": str(key.pk),
                "symbol": intent.symbol,
                "side": intent.side,
                "type": intent.type,
                "amount": str(intent.amount),
                "price": None if intent.price is None else str(intent.price),
                "client_order_id": intent.client_order_id,
                "source": source,
            },
        )
        _queue_submit(intent)
    return intent


def order_place(
    *,
    user,
    key,
    symbol: str,
    side: str,
    type: str,
    amount,
    price=None,
    request=None,
    source: str = OrderIntent.Source.MANUAL,
    bot=None,
    bot_tag: str = "",
    intent_id=None,
) -> OrderIntent:
    """Record an order intent (NEW) after validation and limits, and queue it for sending."""
    spec = _checked(
        user=user,
        key=key,
        request=request,
        symbol=symbol,
        side=side,
        type=type,
        amount=amount,
        price=price,
    )
    return _create_intent(
        user=user,
        key=key,
        request=request,
        source=source,
        kind=OrderIntent.Kind.PLACE,
        bot=bot,
        bot_tag=bot_tag,
        intent_id=intent_id,
        **spec,
    )


def _open_target(order: Order, user) -> None:
    if order.key.user_id != user.pk:
        raise OrderRefused("This order does not belong to you.")
    if order.status != Order.Status.OPEN:
        raise OrderRefused("This order is no longer open.")


def order_cancel(*, user, order: Order, request=None, bot=None, intent_id=None) -> OrderIntent:
    """Queue the cancellation of one open exchange order."""
    _open_target(order, user)
    try:
        _check_key(order.key, user)
    except OrderRefused as exc:
        _refuse(
            user=user,
            key=order.key,
            request=request,
            reason=exc.reason,
            detail={"order": str(order.pk), "action": "cancel"},
        )
    return _create_intent(
        user=user,
        key=order.key,
        request=request,
        source=OrderIntent.Source.BOT if bot is not None else OrderIntent.Source.MANUAL,
        kind=OrderIntent.Kind.CANCEL,
        target_order=order,
        bot=bot,
        intent_id=intent_id,
        symbol=order.symbol,
        side=order.side,
        type=OrderIntent.Type.LIMIT if order.type == "limit" else OrderIntent.Type.MARKET,
        amount=order.amount or Decimal(0),
        price=order.price,
    )


def order_amend(*, user, order: Order, amount=None, price=None, request=None) -> OrderIntent:
    """Queue a change of an open limit order's price and/or amount (a cancel-replace)."""
    _open_target(order, user)
    if order.type != "limit":
        raise OrderRefused("Only limit orders can be amended.")
    new_amount = amount if amount not in (None, "") else order.remaining
    new_price = price if price not in (None, "") else order.price
    spec = _checked(
        user=user,
        key=order.key,
        request=request,
        symbol=order.symbol,
        side=order.side,
        type="limit",
        amount=new_amount,
        price=new_price,
    )
    return _create_intent(
        user=user,
        key=order.key,
        request=request,
        source=OrderIntent.Source.MANUAL,
        kind=OrderIntent.Kind.AMEND,
        target_order=order,
        **spec,
    )


def order_cancel_all(*, user, key, symbol: str | None = None, request=None) -> list[OrderIntent]:
    """Queue the cancellation of every open order of a key (optionally on one symbol)."""
    orders = with_key(Order.objects.filter(key=key, status=Order.Status.OPEN))
    if symbol:
        orders = orders.filter(symbol=symbol.upper())
    return [order_cancel(user=user, order=o, request=request) for o in orders]

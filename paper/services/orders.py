"""Placing and cancelling orders: filters, balance checks, immediate fills and locks."""

import secrets
import string
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError

from paper import matching, sql
from paper.clock import Now
from paper.errors import PaperError
from paper.feed import Feed, spec_for
from paper.market import SymbolSpec
from paper.models import PaperOrder, PaperTrade
from paper.services.ledger import Ledger, ledger_transaction

Type, Side, Status = PaperOrder.Type, PaperOrder.Side, PaperOrder.Status
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
_ID_CHARS = string.ascii_letters + string.digits
_ID_BYTES_BELOW = 256 - 256 % len(_ID_CHARS)  # random bytes past this would favour some chars


def random_client_id() -> str:
    """22 random letters and digits, as Binance makes up a missing client order id.

    One read of random bytes instead of one per character (each was a getrandom() call);
    bytes from _ID_BYTES_BELOW up are dropped so that every character stays equally likely.
    """
    chars: list[str] = []
    while len(chars) < 22:
        chars += [
            _ID_CHARS[byte % len(_ID_CHARS)]
            for byte in secrets.token_bytes(32)
            if byte < _ID_BYTES_BELOW
        ]
    return "".join(chars[:22])


@dataclass(frozen=True)
class OrderRequest:
    """A validated new-order request."""

    spec: SymbolSpec
    side: str
    type: str
    time_in_force: str
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    client_order_id: str

    @property
    def is_buy(self) -> bool:
        return self.side == Side.BUY


def _decimal(params: dict, name: str) -> Decimal | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise PaperError.illegal(name) from None
    if not value.is_finite() or value < 0:
        raise PaperError.illegal(name)
    return value


def _check_filters(spec: SymbolSpec, req_type, price, quantity) -> None:
    if price is not None and (price < spec.tick or price > spec.max_price or price % spec.tick):
        raise PaperError.filter_failure("PRICE_FILTER")
    if quantity is not None:
        max_qty = spec.market_max_qty if req_type == Type.MARKET else spec.max_qty
        if quantity < spec.min_qty or quantity > max_qty or quantity % spec.step:
            raise PaperError.filter_failure("MARKET_LOT_SIZE" if quantity > max_qty else "LOT_SIZE")
    if price is not None and quantity is not None:
        notional = price * quantity
        if notional < spec.min_notional or notional > spec.max_notional:
            raise PaperError.filter_failure("NOTIONAL")


def order_request_parse(params: dict, prefix: str = "") -> OrderRequest:
    """Validate new-order parameters as Binance does (codes -1102, -1100, -1116, -1013…)."""
    spec = spec_for(params.get("symbol"))
    side = params.get("side", "")
    if side not in Side.values:
        raise PaperError(-1117, "Invalid side.") if side else PaperError.mandatory("side")
    req_type = params.get("type", "")
    if req_type not in Type.values:
        raise PaperError(-1116, "Invalid orderType.") if req_type else PaperError.mandatory("type")
    quantity, quote = _decimal(params, "quantity"), _decimal(params, "quoteOrderQty")
    price = _decimal(params, "price")
    tif = params.get("timeInForce", "")
    if req_type == Type.LIMIT:
        if not tif:
            raise PaperError.mandatory("timeInForce")
        if tif not in TIME_IN_FORCE:
            raise PaperError(-1115, "Invalid timeInForce.")
    elif tif and req_type == Type.LIMIT_MAKER:
        raise PaperError(-1106, "Parameter 'timeInForce' sent when not required.")
    if req_type == Type.MARKET:
        if (quantity is None) == (quote is None):
            raise PaperError.mandatory("quantity")
        price = None
    else:
        for name, value in (("quantity", quantity), ("price", price)):
            if value is None:
                raise PaperError.mandatory(name)
    _check_filters(spec, req_type, price, quantity)
    client_id = params.get("newClientOrderId") or random_client_id()
    if len(client_id) > 36:
        raise PaperError.invalid_value("newClientOrderId")
    return OrderRequest(
        spec,
        side,
        req_type,
        tif if req_type == Type.LIMIT else "GTC",
        quantity,
        quote,
        price,
        client_id,
    )


# --- applying fills ------------------------------------------------------------------------------


def fills_apply(*, order: PaperOrder, fills, ledger: Ledger, spec: SymbolSpec, time_ms: int):
    """Move balances for fills of an order (taker from free, maker from locks); return trades.

    The trades are unsaved: the caller saves the order first, then bulk-creates them.
    """
    rate = settings.PAPER_FEE_RATE
    trades = []
    for fill in fills:
        quote = matching.quote_amount(fill.qty, fill.price)
        if order.side == Side.BUY:
            commission, asset = matching.fee_amount(fill.qty, rate), spec.base
            _pay(order, ledger, spec.quote, quote, fill.is_maker)
            ledger.credit(spec.base, fill.qty - commission)
        else:
            commission, asset = matching.fee_amount(quote, rate), spec.quote
            _pay(order, ledger, spec.base, fill.qty, fill.is_maker)
            ledger.credit(spec.quote, quote - commission)
        order.executed_qty += fill.qty
        order.cumm_quote_qty += quote
        trade_time = time_ms if fill.minute is None else max(order.created_ms, fill.minute * 60_000)
        order.updated_ms = max(order.updated_ms, trade_time)
        trades.append(
            PaperTrade(
                order=order,
                account_id=order.account_id,
                symbol=spec.symbol,
                price=fill.price,
                qty=fill.qty,
                quote_qty=quote,
                commission=commission,
                commission_asset=asset,
                time_ms=trade_time,
                is_buyer=order.side == Side.BUY,
                is_maker=fill.is_maker,
            )
        )
    if order.executed_qty >= order.orig_qty and order.orig_qty > 0:
        order.status = Status.FILLED
    elif order.executed_qty > 0:
        order.status = Status.PARTIALLY_FILLED
    return trades


def _pay(order: PaperOrder, ledger: Ledger, asset: str, amount: Decimal, from_lock: bool):
    if not from_lock:
        ledger.debit(asset, amount)
        return
    from_locked = min(amount, order.locked_amount)
    ledger.spend_locked(asset, from_locked)
    order.locked_amount -= from_locked
    if amount > from_locked:  # rounding dust beyond the lock comes from free
        ledger.debit(asset, amount - from_locked)


def release_lock(*, order: PaperOrder, ledger: Ledger) -> None:
    """Give back whatever an order still has locked (it is closing)."""
    if order.locked_amount > 0:
        ledger.unlock(order.locked_asset, order.locked_amount)
        order.locked_amount = Decimal(0)


# --- placing -------------------------------------------------------------------------------------


def immediate_fills(req: OrderRequest, feed: Feed) -> list[matching.Fill]:
    """Fills against the book for the part of an order that crosses it (none if it rests)."""
    levels = feed.levels("asks" if req.is_buy else "bids")
    if req.type == Type.LIMIT_MAKER:
        if matching.would_take(levels, req.is_buy, req.price):
            raise PaperError.would_take()
        return []
    fills = matching.take(
        levels,
        is_buy=req.is_buy,
        step=req.spec.step,
        qty=req.quantity,
        quote=req.quote_order_qty,
        limit=req.price,
    )
    if req.type == Type.MARKET:
        notional = sum((f.qty * f.price for f in fills), Decimal(0))
        if not fills or notional < req.spec.min_notional:
            raise PaperError.filter_failure("NOTIONAL")
    return fills


def _check_funds(req: OrderRequest, fills, ledger: Ledger) -> None:
    spec = req.spec
    if req.type == Type.MARKET:
        if req.is_buy:
            ledger.require(spec.quote, sum(matching.quote_amount(f.qty, f.price) for f in fills))
        else:
            ledger.require(spec.base, sum((f.qty for f in fills), Decimal(0)))
    elif req.is_buy:
        ledger.require(spec.quote, (req.quantity * req.price).quantize(matching.EIGHT_DP, ROUND_UP))
    else:
        ledger.require(spec.base, req.quantity)


def _new_order(account_id: int, req: OrderRequest, fills, now: Now) -> PaperOrder:
    orig_qty = req.quantity
    if orig_qty is None:  # quoteOrderQty market order: its size is what the budget bought
        orig_qty = sum((f.qty for f in fills), Decimal(0))
    return PaperOrder(
        account_id=account_id,
        symbol=req.spec.symbol,
        client_order_id=req.client_order_id,
        side=req.side,
        type=req.type,
        time_in_force=req.time_in_force,
        price=req.price or 0,
        orig_qty=orig_qty,
        orig_quote_order_qty=req.quote_order_qty or 0,
        status=Status.NEW,
        created_ms=now.market_ms,
        updated_ms=now.market_ms,
        checked_minute=now.minute,
    )


def _rest_or_expire(order: PaperOrder, req: OrderRequest, ledger: Ledger) -> None:
    remaining = order.remaining
    if remaining <= 0:
        return
    if req.type == Type.MARKET or req.time_in_force in ("IOC", "FOK"):
        order.status = Status.EXPIRED
        return
    spec = req.spec
    if req.is_buy:
        amount = (remaining * req.price).quantize(matching.EIGHT_DP, ROUND_UP)
        order.locked_asset = spec.quote
    else:
        amount, order.locked_asset = remaining, spec.base
    ledger.lock(order.locked_asset, amount)
    order.locked_amount = amount


def _order_prepare(*, account_id: int, req: OrderRequest, now: Now, fills):
    """The order with its fills and lock applied to the account's balances (not yet saved)."""
    if fills is None:
        fills = immediate_fills(req, Feed.load(req.spec.symbol, now))
    ledger = Ledger(account_id=account_id, assets=[req.spec.base, req.spec.quote])
    _check_funds(req, fills, ledger)
    if req.time_in_force == "FOK" and sum(f.qty for f in fills) < req.quantity:
        fills = []
    order = _new_order(account_id, req, fills, now)
    trades = fills_apply(
        order=order, fills=fills, ledger=ledger, spec=req.spec, time_ms=now.market_ms
    )
    _rest_or_expire(order, req, ledger)
    return order, trades, ledger


def order_place_locked(*, account_id: int, req: OrderRequest, now: Now, fills=None):
    """Place an order inside a transaction that already holds the account lock.

    `fills` are the immediate fills, when the caller computed them before taking the lock
    (they depend only on the market, not on the account).

    A newClientOrderId already used by an open order of the account is refused by the
    INSERT itself: the open-client-id unique constraint raises IntegrityError, which the
    callers answer with "Duplicate order sent." (as for a racing duplicate). An order that
    fails for another reason first looks the client id up, so a duplicate is still answered
    as one whatever else is wrong with it (Binance checks it first).
    """
    try:
        order, trades, ledger = _order_prepare(account_id=account_id, req=req, now=now, fills=fills)
    except PaperError:
        if sql.open_client_id_taken(account_id=account_id, client_order_id=req.client_order_id):
            raise PaperError.duplicate_order() from None
        raise
    sql.order_insert(order=order)  # one INSERT with the final state
    if trades:
        PaperTrade.objects.bulk_create(trades)
    ledger.save()
    return order, trades


def order_place(*, account_id: int, req: OrderRequest, now: Now):
    """Place an order: fill what crosses the book, rest or expire the rest; -> (order, trades)."""
    # Walk the book before locking: the lock (SQLite's single writer) is held only for the
    # balance check and the writes.
    fills = immediate_fills(req, Feed.load(req.spec.symbol, now))
    try:
        with ledger_transaction(account_id=account_id):
            return order_place_locked(account_id=account_id, req=req, now=now, fills=fills)
    except IntegrityError:  # the open-client-id constraint: a racing duplicate
        raise PaperError.duplicate_order() from None


# --- cancelling ----------------------------------------------------------------------------------


def order_find(*, account_id, symbol, order_id=None, client_order_id=None, lock=False):
    """Return an account's order by orderId or origClientOrderId (open ones first), or None."""
    if order_id is not None and lock:  # every cancel by orderId: the hot path
        return sql.order_for_update(account_id=account_id, symbol=symbol, order_id=order_id)
    orders = PaperOrder.objects.filter(account_id=account_id, symbol=symbol)
    if lock:
        orders = orders.select_for_update()
    if order_id is not None:
        return orders.filter(pk=order_id).first()
    matches = sorted(orders.filter(client_order_id=client_order_id), key=lambda o: o.is_open)
    return matches[-1] if matches else None


def order_cancel_locked(*, account_id: int, order: PaperOrder | None, now: Now) -> PaperOrder:
    """Cancel an open order inside a transaction holding the account lock."""
    if order is None or not order.is_open:
        raise PaperError.unknown_order()
    ledger = Ledger(
        account_id=account_id, assets=[order.locked_asset] if order.locked_asset else []
    )
    release_lock(order=order, ledger=ledger)
    order.status = Status.CANCELED
    order.updated_ms = now.market_ms
    ledger.save()
    sql.order_cancel_save(order=order)
    return order


def order_cancel(*, account_id: int, symbol: str, order_id=None, client_order_id=None, now: Now):
    """Cancel one open order by id or client id (Binance: -2011 if unknown or closed)."""
    with ledger_transaction(account_id=account_id):
        order = order_find(
            account_id=account_id,
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            lock=True,
        )
        return order_cancel_locked(account_id=account_id, order=order, now=now)


def orders_cancel_all(*, account_id: int, symbol: str, now: Now) -> list[PaperOrder]:
    """Cancel every open order of a symbol (Binance: -2011 when there is none)."""
    with ledger_transaction(account_id=account_id):
        orders = list(
            PaperOrder.objects.select_for_update().filter(
                account_id=account_id, symbol=symbol, status__in=PaperOrder.OPEN_STATUSES
            )
        )
        if not orders:
            raise PaperError.unknown_order()
        return [order_cancel_locked(account_id=account_id, order=o, now=now) for o in orders]

"""The exchange adapter: least privilege first, then one ccxt call, then keytrade types or errors.

An ExchangeClient exposes reads (need the read scope), order writes (need the trade scope) and
nothing that moves funds. Every ccxt exception leaves as a documented keytrade error with a
scrubbed detail; the exception chain is cut so no URL, signature or key travels further.
"""

from __future__ import annotations

import decimal
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

import ccxt
from django.core.cache import cache

from trading.exchange import errors
from trading.exchange.ccxt_build import capability
from trading.exchange.translate import CANCEL, CREATE, EDIT, READ, translate
from trading.exchange.types import (
    Balance,
    Candle,
    ExchangeOrder,
    KeyPermissions,
    OrderBook,
    Ticker,
    Trade,
    from_ms,
    to_decimal,
)

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Scopes:
    """What keytrade lets this key do (declared by its owner); withdraw is never an option."""

    read: bool
    trade: bool


def _pause_key(exchange_id: str) -> str:
    return f"exchange-pause:{exchange_id}"


def exchange_paused_for(exchange_id: str) -> float:
    """Seconds left in a rate-limit pause for this exchange (shared by every key and worker)."""
    until = cache.get(_pause_key(exchange_id))
    return max(until - time.time(), 0.0) if until else 0.0


def exchange_pause(exchange_id: str, seconds: float) -> None:
    """Stop every request to this exchange for `seconds` (a 429/418 Retry-After)."""
    if seconds > 0:
        cache.set(_pause_key(exchange_id), time.time() + seconds, timeout=int(seconds) + 1)


class ExchangeClient:
    """One key's view of one exchange."""

    def __init__(self, ex, *, exchange_id: str, scopes: Scopes):
        self._ex = ex
        self.exchange_id = exchange_id
        self.scopes = scopes

    # --- plumbing ---------------------------------------------------------------------------

    def _require(self, scope: str) -> None:
        if scope == "read" and not self.scopes.read:
            raise errors.ScopeRefused(
                "This key is not enabled for reading in keytrade: turn on its read scope first."
            )
        if scope == "trade" and not self.scopes.trade:
            raise errors.ScopeRefused(
                "This key is not enabled for trading in keytrade: turn on its trade scope first."
            )

    def _call(self, op: str, scope: str | None, method: str, *args, **kwargs):
        if scope:
            self._require(scope)
        paused = exchange_paused_for(self.exchange_id)
        if paused:
            raise errors.RateLimited(retry_after=paused, detail="paused after a rate limit")
        try:
            return self._call_with_resync(method, *args, **kwargs)
        except Exception as exc:
            error = translate(
                exc,
                op=op,
                http_status=getattr(self._ex, "last_http_status", None),
                headers=getattr(self._ex, "last_response_headers", None),
            )
        if isinstance(error, errors.RateLimited):
            exchange_pause(self.exchange_id, error.retry_after)
        logger.info(
            "exchange call failed",
            extra={
                "exchange": self.exchange_id,
                "call": method,
                "error": type(error).__name__,
                "detail": error.detail,
            },
        )
        raise error from None

    def _call_with_resync(self, method: str, *args, **kwargs):
        self._ex.last_http_status = None
        # ccxt's decimal_to_precision rewrites the thread's decimal context (rounding
        # HALF_UP, Underflow trapped); a local context keeps that from leaking into keytrade.
        with decimal.localcontext():
            try:
                return getattr(self._ex, method)(*args, **kwargs)
            except ccxt.InvalidNonce:
                # -1021: our clock is off. Resync once, then repeat the same request (same ids).
                self._ex.load_time_difference()
                logger.warning(
                    "exchange clock resynchronised", extra={"exchange": self.exchange_id}
                )
                return getattr(self._ex, method)(*args, **kwargs)

    # --- reads ------------------------------------------------------------------------------

    def fetch_balances(self) -> list[Balance]:
        """Return every asset with a non-zero balance."""
        raw = self._call(READ, "read", "fetch_balance")
        out = []
        for asset, total in (raw.get("total") or {}).items():
            total_d = to_decimal(total) or ZERO
            free = to_decimal(raw.get("free", {}).get(asset)) or ZERO
            used = to_decimal(raw.get("used", {}).get(asset)) or ZERO
            if total_d or free or used:
                out.append(Balance(asset=asset, free=free, used=used, total=total_d))
        return out

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Return the account's open orders, for one symbol or all."""
        raw = self._call(READ, "read", "fetch_open_orders", symbol)
        return [parse_order(o) for o in raw]

    def fetch_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """Look one order up by exchange id or by client order id."""
        params = {} if order_id else {"clientOrderId": client_order_id}
        raw = self._call(READ, "read", "fetch_order", order_id, symbol, params)
        return parse_order(raw)

    def fetch_order_trades(self, *, symbol: str, order_id: str) -> list[Trade]:
        """Return the fills of one order."""
        raw = self._call(READ, "read", "fetch_order_trades", order_id, symbol)
        return [parse_trade(t) for t in raw]

    def fetch_my_trades(
        self,
        *,
        symbol: str,
        from_id: str | None = None,
        since_ms: int | None = None,
        limit: int = 500,
    ) -> list[Trade]:
        """Return the account's fills on a symbol, oldest first, from a trade id or time."""
        params = {"fromId": from_id} if from_id else {}
        raw = self._call(READ, "read", "fetch_my_trades", symbol, since_ms, limit, params)
        return [parse_trade(t) for t in raw]

    def fetch_ticker(self, symbol: str) -> Ticker:
        """Return the latest price of a symbol (public data)."""
        raw = self._call(READ, None, "fetch_ticker", symbol)
        return Ticker(
            symbol=raw["symbol"],
            last=to_decimal(raw.get("last")),
            bid=to_decimal(raw.get("bid")),
            ask=to_decimal(raw.get("ask")),
            timestamp=from_ms(raw.get("timestamp")),
        )

    def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        """Return candles, oldest first (public data)."""
        raw = self._call(READ, None, "fetch_ohlcv", symbol, timeframe, since_ms, limit)
        return [Candle(from_ms(r[0]), *(to_decimal(v) or ZERO for v in r[1:6])) for r in raw]

    def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        """Return the order book's best levels (public data)."""
        raw = self._call(READ, None, "fetch_order_book", symbol, limit)
        side = lambda rows: tuple((to_decimal(p), to_decimal(q)) for p, q, *_ in rows)  # noqa: E731
        return OrderBook(
            symbol, side(raw["bids"]), side(raw["asks"]), from_ms(raw.get("timestamp"))
        )

    def markets(self) -> dict:
        """Return the exchange's markets (loads them once per client)."""
        return self._call(READ, None, "load_markets")

    def account_uid(self) -> str | None:
        """Return the exchange's id of the account behind this key (None if not reported)."""
        raw = self._call(READ, "read", "fetch_balance")
        uid = (raw.get("info") or {}).get("uid")
        return None if uid in (None, "") else str(uid)

    def key_permissions(self) -> KeyPermissions:
        """Ask the exchange what this key may do; fields it does not report are None."""
        if capability(self.exchange_id).permissions != "binance":
            return KeyPermissions(None, None, None, None, None)
        raw = self._call(READ, None, "sapi_get_account_apirestrictions")
        return parse_binance_restrictions(raw)

    # --- order writes (trade scope) -----------------------------------------------------------

    def _markets_loaded(self) -> None:
        # Load markets as a read first, so a failure there is "not sent", never "unknown".
        self._require("trade")
        if not (self._ex.markets and self._ex.markets_by_id):  # ccxt keeps them once loaded
            self._call(READ, None, "load_markets")

    def create_order(
        self,
        *,
        symbol: str,
        side: str,
        type: str,
        amount: Decimal,
        price: Decimal | None,
        client_order_id: str,
    ) -> ExchangeOrder:
        """Send one order, exactly once, tagged with keytrade's client order id."""
        params = {"clientOrderId": client_order_id}
        px = float(price) if price is not None and type == "limit" else None
        self._markets_loaded()
        raw = self._call(
            CREATE, "trade", "create_order", symbol, type, side, float(amount), px, params
        )
        return _parsed_write(raw, op=CREATE)

    def cancel_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """Cancel one order by exchange id or client order id."""
        params = {} if order_id else {"clientOrderId": client_order_id}
        self._markets_loaded()
        raw = self._call(CANCEL, "trade", "cancel_order", order_id, symbol, params)
        return _parsed_write(raw, op=CANCEL)

    def edit_order(
        self,
        *,
        order_id: str,
        symbol: str,
        side: str,
        type: str,
        amount: Decimal,
        price: Decimal | None,
        client_order_id: str,
    ) -> ExchangeOrder:
        """Replace an open order (Binance cancelReplace); the result is a new order id."""
        params = {"clientOrderId": client_order_id}
        px = float(price) if price is not None else None
        self._markets_loaded()
        raw = self._call(
            EDIT, "trade", "edit_order", order_id, symbol, type, side, float(amount), px, params
        )
        return _parsed_write(raw, op=EDIT)

    def cancel_all_orders(self, symbol: str) -> int:
        """Cancel every open order on a symbol; return how many the exchange cancelled."""
        raw = self._call(CANCEL, "trade", "cancel_all_orders", symbol)
        return len(raw or [])


def _parsed_write(raw, *, op: str) -> ExchangeOrder:
    # A 200 whose body we cannot read is an unknown outcome, not a failure.
    try:
        order = parse_order(raw)
    except Exception as exc:
        raise errors.OutcomeUnknown(detail=f"unreadable {op} response: {exc}") from None
    if not order.id:
        raise errors.OutcomeUnknown(detail=f"{op} response without an order id")
    return order


def parse_trade(raw: dict, *, order: dict | None = None) -> Trade:
    """Convert a ccxt trade (or a fill inside an order response) to a Trade."""
    fee = raw.get("fee") or {}
    order = order or {}
    return Trade(
        id=str(raw.get("id") or (raw.get("info") or {}).get("tradeId") or ""),
        order_id=str(raw.get("order") or order.get("id") or "") or None,
        symbol=raw.get("symbol") or order.get("symbol") or "",
        side=raw.get("side") or order.get("side") or "",
        price=to_decimal(raw.get("price")) or ZERO,
        amount=to_decimal(raw.get("amount")) or ZERO,
        cost=to_decimal(raw.get("cost")),
        fee=to_decimal(fee.get("cost")),
        fee_currency=fee.get("currency") or "",
        taker_or_maker=raw.get("takerOrMaker") or "",
        timestamp=from_ms(raw.get("timestamp") or order.get("timestamp")),
    )


def parse_order(raw: dict) -> ExchangeOrder:
    """Convert a ccxt order to an ExchangeOrder (with its fills, when the response has them)."""
    fee = raw.get("fee") or {}
    trades = tuple(t for t in (parse_trade(t, order=raw) for t in raw.get("trades") or []) if t.id)
    return ExchangeOrder(
        id=str(raw.get("id") or ""),
        client_order_id=raw.get("clientOrderId") or "",
        symbol=raw.get("symbol") or "",
        side=raw.get("side") or "",
        type=raw.get("type") or "",
        status=raw.get("status") or "",
        price=to_decimal(raw.get("price")),
        amount=to_decimal(raw.get("amount")),
        filled=to_decimal(raw.get("filled")) or ZERO,
        average=to_decimal(raw.get("average")),
        fee=to_decimal(fee.get("cost")),
        fee_currency=fee.get("currency") or "",
        timestamp=from_ms(raw.get("timestamp")),
        trades=trades,
    )


def parse_binance_restrictions(raw: dict) -> KeyPermissions:
    """Read Binance's GET /sapi/v1/account/apiRestrictions answer."""
    raw = raw or {}
    transfer = bool(raw.get("enableInternalTransfer")) or bool(raw.get("permitsUniversalTransfer"))
    return KeyPermissions(
        read=_flag(raw, "enableReading"),
        trade=_flag(raw, "enableSpotAndMarginTrading"),
        withdraw=_flag(raw, "enableWithdrawals"),
        transfer=transfer,
        ip_restricted=_flag(raw, "ipRestrict"),
        expires_at=from_ms(raw.get("tradingAuthorityExpirationTime")),
        raw_fields=tuple(sorted(k for k in raw if isinstance(k, str))),
    )


def _flag(raw: dict, name: str) -> bool | None:
    value = raw.get(name)
    return None if value is None else bool(value)

"""The simulated broker: the paper exchange's fill rules applied to bars, in Decimal.

- An order placed while bar t closes can fill from bar t+1 on, never on bar t.
- A market order fills at the next bar's open, plus slippage against the taker.
- A limit buy fills on the first later bar whose low reaches its price, at its price or at
  that bar's open if the bar opened below it; a limit sell mirrors this with the high.
- Limit orders lock their funds when placed; an order the balance cannot cover is rejected.
- The fee is a fraction of the trade, charged in the asset received (as the paper exchange
  and Binance do) or, with `fee_in="quote"`, always in the quote currency (as
  backtesting.py charges its commission).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from trading.strategies.types import ZERO, Fill, OpenOrder, OrderRequest, Position, Side


@dataclass(frozen=True)
class BrokerConfig:
    fee_rate: Decimal = Decimal("0.001")
    fee_in: Literal["received", "quote"] = "received"
    slippage: Decimal = ZERO
    # Amounts are rounded down to this step (an exchange's lot size); None leaves them as is.
    lot_step: Decimal | None = None


@dataclass(frozen=True)
class SimFill:
    bar: int
    fill: Fill


@dataclass(slots=True)
class _Order:
    ref: str
    request: OrderRequest
    amount: Decimal | None
    view: OpenOrder
    locked: Decimal = ZERO  # quote for buys, base for sells


class Bar:
    """One bar's prices as Decimals, each converted from the stored float when first read."""

    __slots__ = ("_candles", "index", "_open", "_high", "_low")

    def __init__(self, candles, index: int):
        self._candles, self.index = candles, index
        self._open = self._high = self._low = None

    @property
    def time_ms(self) -> int:
        return int(self._candles.time[self.index])

    @property
    def open(self) -> Decimal:
        if self._open is None:
            self._open = to_decimal(self._candles.open[self.index])
        return self._open

    @property
    def high(self) -> Decimal:
        if self._high is None:
            self._high = to_decimal(self._candles.high[self.index])
        return self._high

    @property
    def low(self) -> Decimal:
        if self._low is None:
            self._low = to_decimal(self._candles.low[self.index])
        return self._low


def round_to_step(amount: Decimal, step: Decimal | None) -> Decimal:
    """`amount` rounded down to a multiple of the lot `step` (unchanged without one)."""
    if step is None:
        return amount
    return (amount / step).to_integral_value(rounding=ROUND_DOWN) * step


def to_decimal(value: float) -> Decimal:
    """The Decimal a float price was written as (its shortest repr), not its binary expansion."""
    return Decimal(repr(float(value)))


@dataclass
class SimBroker:
    symbol: str
    base_asset: str
    quote_asset: str
    config: BrokerConfig
    balances: dict[str, Decimal]
    orders: dict[str, _Order] = field(default_factory=dict)
    fills: list[SimFill] = field(default_factory=list)
    rejections: list[tuple[int, str, str]] = field(default_factory=list)
    fees_in_quote: Decimal = ZERO
    locked: dict[str, Decimal] = field(default_factory=dict)
    _seq: int = 0

    # -- what the strategy sees -------------------------------------------------------------

    def position(self) -> Position:
        return Position(self.totals())

    def totals(self) -> dict[str, Decimal]:
        """Balances with the funds locked in open orders added back."""
        totals = dict(self.balances)
        for asset, amount in self.locked.items():
            if amount:
                totals[asset] = totals.get(asset, ZERO) + amount
        return totals

    def open_orders(self) -> list[OpenOrder]:
        return [order.view for order in self.orders.values()]

    # -- orders -----------------------------------------------------------------------------

    def cancel(self, ref: str) -> None:
        order = self.orders.pop(ref, None)
        if order is not None and order.locked:
            asset = self.quote_asset if order.request.side == "buy" else self.base_asset
            self.balances[asset] = self.balances.get(asset, ZERO) + order.locked
            self.locked[asset] -= order.locked

    def place(self, request: OrderRequest, bar: int) -> str | None:
        """Accept an order (locking a limit order's funds) and return its ref, or reject it."""
        self._seq += 1
        ref = f"bt-{self._seq}"
        if request.symbol != self.symbol:
            return self._reject(bar, request, "symbol not in this backtest")
        amount = self._round(request.amount) if request.amount is not None else None
        if amount is not None and amount <= 0:
            return self._reject(bar, request, "amount rounds to zero")
        view = OpenOrder(
            ref=ref,
            tag=request.tag,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            price=request.price,
            amount=amount if amount is not None else ZERO,
        )
        order = _Order(ref=ref, request=request, amount=amount, view=view)
        if request.type == "limit":
            if request.side == "buy":
                need = amount * request.price * (1 + self._quote_fee_rate())
                asset = self.quote_asset
            else:
                need, asset = amount, self.base_asset
            if self.balances.get(asset, ZERO) < need:
                return self._reject(bar, request, "insufficient balance")
            self.balances[asset] -= need
            self.locked[asset] = self.locked.get(asset, ZERO) + need
            order.locked = need
        self.orders[ref] = order
        return ref

    def has_market_orders(self) -> bool:
        return any(o.request.type == "market" for o in self.orders.values())

    def limit_bounds(self) -> tuple[Decimal | None, Decimal | None]:
        """(highest buy price, lowest sell price) among resting limit orders."""
        buys = [o.request.price for o in self.orders.values() if _is_limit(o, "buy")]
        sells = [o.request.price for o in self.orders.values() if _is_limit(o, "sell")]
        return (max(buys) if buys else None, min(sells) if sells else None)

    # -- matching ---------------------------------------------------------------------------

    def process_bar(self, bar: Bar) -> list[Fill]:
        """Fill what bar `bar` trades through: market orders at its open, then limit orders."""
        done: list[Fill] = []
        orders = list(self.orders.values())
        for order in orders:
            if order.request.type == "market":
                del self.orders[order.ref]
                fill = self._fill_market(order, bar)
                if fill is not None:
                    done.append(fill)
        for order in orders:
            request = order.request
            if request.type != "limit":
                continue
            if request.side == "buy":
                if bar.low > request.price:
                    continue
                price = min(bar.open, request.price)
            else:
                if bar.high < request.price:
                    continue
                price = max(bar.open, request.price)
            del self.orders[order.ref]
            done.append(self._settle(order, bar, price, order.amount))
        return done

    def _fill_market(self, order: _Order, bar: Bar) -> Fill | None:
        request = order.request
        slip = self.config.slippage
        price = bar.open * (1 + slip) if request.side == "buy" else bar.open * (1 - slip)
        if request.side == "buy":
            quote = self.balances.get(self.quote_asset, ZERO)
            if order.amount is None:
                spend = min(request.quote_amount, quote)
                amount = self._round(spend / (price * (1 + self._quote_fee_rate())))
            else:
                amount = order.amount
            if amount <= 0 or amount * price * (1 + self._quote_fee_rate()) > quote:
                self._reject(bar.index, request, "insufficient balance")
                return None
        else:
            amount = order.amount
            if amount > self.balances.get(self.base_asset, ZERO):
                self._reject(bar.index, request, "insufficient balance")
                return None
        return self._settle(order, bar, price, amount)

    def _settle(self, order: _Order, bar: Bar, price: Decimal, amount: Decimal) -> Fill:
        request, rate = order.request, self.config.fee_rate
        base, quote = self.base_asset, self.quote_asset
        notional = amount * price
        if self.config.fee_in == "quote":
            fee, fee_asset = notional * rate, quote
        elif request.side == "buy":
            fee, fee_asset = amount * rate, base
        else:
            fee, fee_asset = notional * rate, quote
        balances = self.balances
        if order.locked:
            locked_asset = quote if request.side == "buy" else base
            self.locked[locked_asset] -= order.locked
        if request.side == "buy":
            balances[quote] = balances.get(quote, ZERO) + order.locked - notional
            balances[base] = balances.get(base, ZERO) + amount
        else:
            balances[base] = balances.get(base, ZERO) + order.locked - amount
            balances[quote] = balances.get(quote, ZERO) + notional
        balances[fee_asset] -= fee
        self.fees_in_quote += fee if fee_asset == quote else fee * price
        fill = Fill(
            ref=order.ref,
            tag=request.tag,
            symbol=request.symbol,
            side=request.side,
            price=price,
            amount=amount,
            fee=fee,
            fee_asset=fee_asset,
            time=datetime.fromtimestamp(bar.time_ms / 1000, tz=UTC),
        )
        self.fills.append(SimFill(bar.index, fill))
        return fill

    def _quote_fee_rate(self) -> Decimal:
        return self.config.fee_rate if self.config.fee_in == "quote" else ZERO

    def _round(self, amount: Decimal) -> Decimal:
        return round_to_step(amount, self.config.lot_step)

    def _reject(self, bar: int, request: OrderRequest, reason: str) -> None:
        self.rejections.append((bar, request.tag, reason))
        return None


def _is_limit(order: _Order, side: Side) -> bool:
    return order.request.type == "limit" and order.request.side == side

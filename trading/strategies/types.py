"""The values a strategy sees and returns: plain frozen dataclasses, Decimal money, aware UTC time.

A strategy never talks to an exchange. The engine (live, dry-run or backtest) builds a
`MarketSnapshot`, the bot's `OpenOrder`s, its `Position` and the `Fill`s since the previous
decision, calls `Strategy.decide`, and carries out the returned `Decision`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any, Literal

Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market"]
JSON = dict[str, Any]

ZERO = Decimal(0)

# The arithmetic every strategy decision and backtest runs under (Python's stock defaults,
# spelled out so nothing global can change them). The thread's current context is shared
# state: ccxt, for one, sets ROUND_HALF_UP and traps Underflow on it, and a last-digit
# rounding difference can flip an all-in order's balance check. `decimal.localcontext(
# DECIMAL_CONTEXT)` makes a result independent of whatever else ran in the process.
DECIMAL_CONTEXT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed OHLCV bar; `time` is the bar's open time."""

    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Ticker:
    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None

    @property
    def mid(self) -> Decimal:
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.last


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Best levels of the order book: (price, amount) pairs, best first."""

    bids: tuple[tuple[Decimal, Decimal], ...] = ()
    asks: tuple[tuple[Decimal, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """What the market looked like at `time`: nothing after it is visible.

    `candles` are closed bars of the strategy's timeframe for `symbol`, oldest first; the
    engine passes at least `Strategy.lookback()` of them when history allows. `tickers`
    holds the last price of every symbol the strategy asked for, `symbol` included. `book`
    is the bot symbol's order book when the engine fetched one (backtests have none).
    """

    time: datetime
    symbol: str
    candles: Sequence[Candle]
    tickers: Mapping[str, Ticker]
    book: OrderBook | None = None

    @property
    def ticker(self) -> Ticker:
        return self.tickers[self.symbol]

    @property
    def price(self) -> Decimal:
        return self.tickers[self.symbol].last

    def closes(self, count: int) -> list[Decimal]:
        """Closes of the last `count` candles (fewer if history is shorter), oldest first."""
        recent = self.candles[-count:] if count else []
        fast = getattr(recent, "closes", None)  # CandleView converts only this column
        return fast() if fast is not None else [candle.close for candle in recent]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order the strategy wants placed.

    `tag` is the strategy's own name for the order (unique among its open orders); the engine
    derives a deterministic client order id from the bot, the decision and the tag. A market
    buy may give `quote_amount` (spend this much quote) instead of `amount` (base).
    """

    symbol: str
    side: Side
    type: OrderType
    tag: str
    amount: Decimal | None = None
    price: Decimal | None = None
    quote_amount: Decimal | None = None

    def __post_init__(self):
        if self.type == "limit" and (self.price is None or self.amount is None):
            raise ValueError("a limit order needs a price and an amount")
        if self.type == "market" and (self.amount is None) == (self.quote_amount is None):
            raise ValueError("a market order needs exactly one of amount and quote_amount")
        for value in (self.amount, self.price, self.quote_amount):
            if value is not None and value <= 0:
                raise ValueError("order amounts and prices must be positive")


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """One of the bot's orders still resting on the book; `ref` is what `Decision.cancel` takes."""

    ref: str
    tag: str
    symbol: str
    side: Side
    type: OrderType
    price: Decimal | None
    amount: Decimal
    filled: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Fill:
    """A fill of one of the bot's orders since its previous decision."""

    ref: str
    tag: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    time: datetime


@dataclass(frozen=True, slots=True)
class Position:
    """What the bot holds and may trade with, per asset (free plus locked in its own orders)."""

    balances: Mapping[str, Decimal]

    def amount(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one decision step: orders to place, refs to cancel, the next state."""

    state: JSON
    place: tuple[OrderRequest, ...] = ()
    cancel: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.place and not self.cancel


@dataclass(frozen=True, slots=True)
class Quiet:
    """A promise from a strategy: until one of these happens, `decide` would change nothing.

    Any fill of the bot's orders always wakes it. `until` wakes at or after that time; `above`
    / `below` wake on the first bar whose high reaches `above` / whose low reaches `below`.
    Backtests use it to skip bars where nothing can happen; a test checks the promise holds.
    """

    until: datetime | None = None
    above: Decimal | None = None
    below: Decimal | None = None


def split_symbol(symbol: str) -> tuple[str, str]:
    """Return (base, quote) of a ccxt-style unified symbol such as "BTC/USDT"."""
    base, _, quote = symbol.partition("/")
    if not base or not quote:
        raise ValueError(f"not a BASE/QUOTE symbol: {symbol!r}")
    return base, quote.split(":")[0]

"""SMA crossover: long when the fast average crosses above the slow one, flat when below."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from trading.strategies.base import Strategy, register
from trading.strategies.params import TIMEFRAMES, Param, ParamError
from trading.strategies.types import (
    JSON,
    Decision,
    Fill,
    MarketSnapshot,
    OpenOrder,
    OrderRequest,
    Position,
)

# Two averages computed in different orders differ in the last bits; within this relative
# distance they count as equal, so float noise cannot invent or hide a crossing.
EQUAL_WITHIN = Decimal("1e-9")
ENTER, EXIT = "enter", "exit"  # order tags


def compare(a: Decimal, b: Decimal) -> int:
    """-1, 0 or 1 as a is below, equal to (within EQUAL_WITHIN relative) or above b."""
    if abs(a - b) <= EQUAL_WITHIN * max(abs(a), abs(b)):
        return 0
    return 1 if a > b else -1


def crossing(closes: Sequence[Decimal], fast: int, slow: int) -> int:
    """1 if fast crossed above slow on the last close, -1 if below, else 0.

    A crossing needs the fast average strictly below (above) the slow one on the previous
    close and strictly above (below) on the last one, as in backtesting.py's `crossover`.
    """
    if len(closes) < slow + 1:
        return 0
    now = compare(_mean(closes, fast, 0), _mean(closes, slow, 0))
    before = compare(_mean(closes, fast, 1), _mean(closes, slow, 1))
    if before < 0 < now:
        return 1
    if before > 0 > now:
        return -1
    return 0


def _mean(closes: Sequence[Decimal], window: int, back: int) -> Decimal:
    end = len(closes) - back
    return sum(closes[end - window : end], Decimal(0)) / window


@register
class SmaCrossover(Strategy):
    slug = "sma_crossover"
    name = "SMA crossover"
    description = (
        "Buys with all the quote balance when the fast moving average of closes crosses above "
        "the slow one, and sells everything when it crosses below (long or flat)."
    )
    params = (
        Param("fast", "int", 10, "Fast average", "Number of candles in the fast average.", min=1),
        Param("slow", "int", 30, "Slow average", "Number of candles in the slow average.", min=2),
        Param(
            "timeframe",
            "choice",
            "1h",
            "Timeframe",
            "Candle length the averages are computed on.",
            choices=TIMEFRAMES,
        ),
    )

    @classmethod
    def clean(cls, values):
        if values["fast"] >= values["slow"]:
            raise ParamError({"fast": "The fast average must be shorter than the slow one."})

    def lookback(self) -> int:
        return self.p["slow"] + 1

    def decide(
        self,
        state: JSON,
        market: MarketSnapshot,
        open_orders: Sequence[OpenOrder],
        position: Position,
        fills: Sequence[Fill] = (),
    ) -> Decision:
        if open_orders:
            return Decision(state=state)
        closes = market.closes(self.lookback())
        signal = crossing(closes, self.p["fast"], self.p["slow"])
        return self.on_signal(state, signal, market.price, position)

    def on_signal(self, state: JSON, signal: int, price: Decimal, position: Position) -> Decision:
        """Act on a crossing (1 up, -1 down, 0 none) seen at `price`; backtest kernels call this."""
        if not signal:
            return Decision(state=state)
        base = position.amount(self.base_asset)
        quote = position.amount(self.quote_asset)
        long = base * price > quote
        if signal > 0 and not long and quote > 0:
            order = OrderRequest(
                symbol=self.symbol, side="buy", type="market", tag=ENTER, quote_amount=quote
            )
            return Decision(state=state, place=(order,), notes=("fast average crossed above",))
        if signal < 0 and long:
            order = OrderRequest(
                symbol=self.symbol, side="sell", type="market", tag=EXIT, amount=base
            )
            return Decision(state=state, place=(order,), notes=("fast average crossed below",))
        return Decision(state=state)

"""The backtest engine: a strategy's own `decide` replayed over candles with the simulated broker.

At bar t the strategy sees candles 0..t only (a `CandleView` that ends at t) and the fills
that bar t produced; orders it places are matched from bar t+1 on. In "bars" mode it is
called on every bar. In "events" mode the engine skips the bars on which the strategy's
`quiet` promise says nothing can happen and no order can fill; a test checks both modes agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, overload

import numpy as np

from trading.backtest.broker import Bar, BrokerConfig, SimBroker, SimFill, to_decimal
from trading.backtest.candles import CandleArrays, candles_resample
from trading.strategies.base import Strategy
from trading.strategies.types import ZERO, Candle, Decision, MarketSnapshot, Quiet, Ticker

Mode = Literal["auto", "bars", "events"]
Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class BacktestError(ValueError):
    """The backtest cannot run as asked (message safe to show the user)."""


class BacktestCancelled(Exception):
    """The cancellation hook asked the run to stop."""


@dataclass(frozen=True)
class BacktestConfig:
    initial: dict[str, Decimal]
    broker: BrokerConfig = field(default_factory=BrokerConfig)


@dataclass
class EngineRun:
    """Raw outcome: fills, balance totals after each bar that changed them, final state."""

    candles: CandleArrays
    fills: list[SimFill]
    changes: list[tuple[int, Decimal, Decimal]]
    state: dict
    balances: dict[str, Decimal]
    fees_in_quote: Decimal
    rejections: list[tuple[int, str, str]]
    decisions: int
    initial: dict[str, Decimal]


class CandleView(Sequence[Candle]):
    """Candles [start, stop) of a series as Decimal `Candle`s, built only when read."""

    __slots__ = ("_candles", "_start", "_stop")

    def __init__(self, candles: CandleArrays, start: int, stop: int):
        self._candles, self._start, self._stop = candles, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def closes(self) -> list[Decimal]:
        return [to_decimal(x) for x in self._candles.close[self._start : self._stop]]

    @overload
    def __getitem__(self, index: int) -> Candle: ...

    @overload
    def __getitem__(self, index: slice) -> CandleView: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return CandleView(self._candles, self._start + start, self._start + max(start, stop))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("candle index out of range")
        c, i = self._candles, self._start + index
        return Candle(
            time=datetime.fromtimestamp(int(c.time[i]) / 1000, tz=UTC),
            open=to_decimal(c.open[i]),
            high=to_decimal(c.high[i]),
            low=to_decimal(c.low[i]),
            close=to_decimal(c.close[i]),
            volume=to_decimal(c.volume[i]),
        )


def prepare_candles(strategy: Strategy, candles: CandleArrays) -> CandleArrays:
    """Candles in the strategy's timeframe when it names one, else as given."""
    if "timeframe" in strategy.p and strategy.timeframe != candles.timeframe:
        return candles_resample(candles, strategy.timeframe)
    return candles


def check_runnable(strategy: Strategy, config: BacktestConfig) -> None:
    if strategy.symbols() != [strategy.symbol]:
        raise BacktestError("Backtests of strategies that trade several symbols are not supported.")
    if not any(amount > 0 for amount in config.initial.values()):
        raise BacktestError("Give the backtest a starting balance.")


def new_broker(strategy: Strategy, config: BacktestConfig) -> SimBroker:
    return SimBroker(
        symbol=strategy.symbol,
        base_asset=strategy.base_asset,
        quote_asset=strategy.quote_asset,
        config=config.broker,
        balances={asset: Decimal(amount) for asset, amount in config.initial.items()},
    )


def snapshot(strategy: Strategy, candles: CandleArrays, t: int) -> MarketSnapshot:
    """The market as the strategy sees it when bar t has closed."""
    start = max(0, t + 1 - strategy.lookback())
    close_ms = int(candles.time[t]) + candles.timeframe_ms
    return MarketSnapshot(
        time=datetime.fromtimestamp(close_ms / 1000, tz=UTC),
        symbol=strategy.symbol,
        candles=CandleView(candles, start, t + 1),
        tickers={strategy.symbol: Ticker(last=to_decimal(candles.close[t]))},
    )


def run_decisions(
    strategy: Strategy,
    candles: CandleArrays,
    config: BacktestConfig,
    *,
    every_bar: bool,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> EngineRun:
    """Replay `strategy.decide` over `candles`, bar by bar or event to event."""
    n = len(candles)
    broker = new_broker(strategy, config)
    state = strategy.initial_state()
    changes: list[tuple[int, Decimal, Decimal]] = []
    search = _Search(candles)
    reporter = ProgressReporter(n, progress, cancelled)
    t = wake = min(max(strategy.lookback() - 1, 0), n)
    decisions = 0
    while t < n:
        fills = broker.process_bar(Bar(candles, t)) if broker.orders else []
        if fills:
            totals = broker.totals()
            base, quote = strategy.base_asset, strategy.quote_asset
            changes.append((t, totals.get(base, ZERO), totals.get(quote, ZERO)))
        if fills or t >= wake:
            market = snapshot(strategy, candles, t)
            decision = strategy.decide(
                state, market, broker.open_orders(), broker.position(), tuple(fills)
            )
            state = _apply(broker, decision, t)
            decisions += 1
            quiet = (
                None
                if every_bar
                else strategy.quiet(state, market, broker.open_orders(), broker.position())
            )
            wake = search.wake_bar(quiet, t)
        t = min(wake, search.next_fill_bar(broker, t))
        reporter.at(t)
    totals = broker.totals()
    return EngineRun(
        candles=candles,
        fills=broker.fills,
        changes=changes,
        state=state,
        balances=totals,
        fees_in_quote=broker.fees_in_quote,
        rejections=broker.rejections,
        decisions=decisions,
        initial=dict(config.initial),
    )


def _apply(broker: SimBroker, decision: Decision, t: int) -> dict:
    for ref in decision.cancel:
        broker.cancel(ref)
    for request in decision.place:
        broker.place(request, t)
    # The live engine stores state as JSON between ticks; a backtest must see the same.
    return json.loads(json.dumps(decision.state))


class _Search:
    """Finds the next bar where something can happen, scanning the columns in growing chunks."""

    def __init__(self, candles: CandleArrays):
        self.n = len(candles)
        self.high, self.low = candles.high, candles.low
        self.close_ms = candles.time + candles.timeframe_ms

    def wake_bar(self, quiet: Quiet | None, t: int) -> int:
        if quiet is None:
            return t + 1
        bars = [self.n]
        if quiet.until is not None:
            until_ms = int(round(quiet.until.timestamp() * 1000))
            bars.append(max(t + 1, int(np.searchsorted(self.close_ms, until_ms, "left"))))
        if quiet.above is not None:
            bars.append(self.first(self.high, t + 1, float(quiet.above), above=True))
        if quiet.below is not None:
            bars.append(self.first(self.low, t + 1, float(quiet.below), above=False))
        return min(bars)

    def next_fill_bar(self, broker: SimBroker, t: int) -> int:
        if not broker.orders:
            return self.n
        if broker.has_market_orders():
            return t + 1
        buy, sell = broker.limit_bounds()
        bars = [self.n]
        # float() rounds monotonically, so the scan may stop early (the broker then finds no
        # fill, exactly) but never late.
        if buy is not None:
            bars.append(self.first(self.low, t + 1, float(buy), above=False))
        if sell is not None:
            bars.append(self.first(self.high, t + 1, float(sell), above=True))
        return min(bars)

    def first(self, column: np.ndarray, start: int, level: float, *, above: bool) -> int:
        """First index >= start where column reaches level (>= if above, else <=), or n."""
        size = 64
        while start < self.n:
            chunk = column[start : start + size]
            hits = chunk >= level if above else chunk <= level
            k = int(hits.argmax())
            if hits[k]:
                return start + k
            start += len(chunk)
            size = min(size * 4, 1 << 16)
        return self.n


class ProgressReporter:
    """Calls the progress hook about a hundred times per run and polls the cancel hook."""

    def __init__(self, n: int, progress: Progress | None, cancelled: Cancelled | None):
        self.n, self.progress, self.cancelled = n, progress, cancelled
        self.step = max(n // 100, 1)
        self.next = self.step

    def at(self, t: int) -> None:
        if t < self.next:
            return
        self.next = (t // self.step + 1) * self.step
        if self.cancelled is not None and self.cancelled():
            raise BacktestCancelled()
        if self.progress is not None:
            self.progress(min(t, self.n), self.n)

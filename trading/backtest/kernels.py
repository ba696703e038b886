"""Fast paths for strategies whose signal can be computed for every bar at once.

A kernel finds, with numpy, the bars on which the strategy's `decide` could act, and settles
only those, in Decimal, with the simulated broker's arithmetic step for step. It must give
exactly what the engine's bar-by-bar replay gives; tests compare the two fill for fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from trading.backtest.broker import BrokerConfig, SimFill, round_to_step, to_decimal
from trading.backtest.candles import CandleArrays
from trading.backtest.engine import BacktestConfig, Cancelled, EngineRun, Progress, ProgressReporter
from trading.strategies.sma_crossover import ENTER, EQUAL_WITHIN, EXIT, SmaCrossover, compare
from trading.strategies.types import ZERO, Fill

# Float averages are within ~1e-13 relative of the Decimal ones; bars whose float distance is
# this close to the equality tolerance are settled in Decimal, exactly as `decide` does.
_UNSURE_BELOW = float(EQUAL_WITHIN) * 0.5
_UNSURE_ABOVE = float(EQUAL_WITHIN) * 1.5


def _as_integers(close: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(close * 10**d as int64, 10**d) for the fewest decimals d that hold every price exactly."""
    sample = close[:4096]
    for digits in range(9):
        scale = 10.0**digits
        if not np.array_equal(np.rint(sample * scale) / scale, sample):
            continue  # a cheap look at the first prices rules most scales out
        ints = np.rint(close * scale)
        if not np.array_equal(ints / scale, close):
            continue
        if ints.min(initial=0) < 0 or ints.max(initial=0) * len(close) >= 2.0**62:
            return None  # prefix sums must stay inside int64
        return ints.astype(np.int64), scale
    return None


def _scaled_gap(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """(fast SMA - slow SMA, larger SMA), both times fast·slow, for bars slow-1..n-1.

    Prices quoted with few decimals are summed exactly as integers, so the difference is
    exact before its one conversion to float; other prices use a direct float convolution
    (error at most slow·2**-53 relative).
    """
    scaled = _as_integers(close)
    if scaled is None or float(scaled[0].max(initial=0)) * fast * slow >= 2.0**62:
        fast_sum = np.convolve(close, np.ones(fast), "valid")[slow - fast :]
        slow_sum = np.convolve(close, np.ones(slow), "valid")
        a, b = fast_sum * slow, slow_sum * fast
        return a - b, np.maximum(a, b)
    ints, _ = scaled
    prefix = np.concatenate(([0], np.cumsum(ints)))
    a = (prefix[slow:] - prefix[slow - fast : -fast]) * slow
    b = (prefix[slow:] - prefix[:-slow]) * fast
    return (a - b).astype(np.float64), np.maximum(a, b).astype(np.float64)


def _relation(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """compare(fast SMA, slow SMA) for bars slow-1..n-1, as int8 (-1, 0, 1)."""
    gap, scale = _scaled_gap(close, fast, slow)
    relation = np.sign(gap).astype(np.int8)
    distance = np.abs(gap)
    relation[distance <= _UNSURE_BELOW * scale] = 0
    unsure = (distance > _UNSURE_BELOW * scale) & (distance < _UNSURE_ABOVE * scale)
    for i in np.flatnonzero(unsure):
        end = slow + int(i)
        closes = [to_decimal(x) for x in close[end - slow : end]]
        relation[i] = compare(
            sum(closes[-fast:], Decimal(0)) / fast, sum(closes, Decimal(0)) / slow
        )
    return relation


@dataclass
class _Book:
    """Balances and records of an all-in long/flat run, settled exactly as SimBroker does."""

    strategy: SmaCrossover
    candles: CandleArrays
    config: BrokerConfig
    balances: dict[str, Decimal]
    fills: list[SimFill] = field(default_factory=list)
    changes: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)
    rejections: list[tuple[int, str, str]] = field(default_factory=list)
    fees: Decimal = ZERO
    seq: int = 0

    def buy_all(self, bar: int, ref: str) -> None:
        """SimBroker._fill_market + _settle for a market buy of quote_amount = all quote."""
        cfg, base, quote = self.config, self.strategy.base_asset, self.strategy.quote_asset
        quote_fee = cfg.fee_rate if cfg.fee_in == "quote" else ZERO
        price = to_decimal(self.candles.open[bar]) * (1 + cfg.slippage)
        have = self.balances.get(quote, ZERO)
        amount = round_to_step(have / (price * (1 + quote_fee)), cfg.lot_step)
        if amount <= 0 or amount * price * (1 + quote_fee) > have:
            self.rejections.append((bar, ENTER, "insufficient balance"))
            return
        notional = amount * price
        if cfg.fee_in == "quote":
            fee, fee_asset = notional * cfg.fee_rate, quote
        else:
            fee, fee_asset = amount * cfg.fee_rate, base
        self.balances[quote] = have - notional
        self.balances[base] = self.balances.get(base, ZERO) + amount
        self._record(bar, ref, "buy", price, amount, fee, fee_asset)

    def sell_all(self, bar: int, ref: str, amount: Decimal) -> None:
        """SimBroker._fill_market + _settle for a market sell of `amount`."""
        cfg, base, quote = self.config, self.strategy.base_asset, self.strategy.quote_asset
        price = to_decimal(self.candles.open[bar]) * (1 - cfg.slippage)
        if amount > self.balances.get(base, ZERO):
            self.rejections.append((bar, EXIT, "insufficient balance"))
            return
        notional = amount * price
        self.balances[base] = self.balances[base] - amount
        self.balances[quote] = self.balances.get(quote, ZERO) + notional
        self._record(bar, ref, "sell", price, amount, notional * cfg.fee_rate, quote)

    def _record(self, bar, ref, side, price, amount, fee, fee_asset) -> None:
        strategy = self.strategy
        self.balances[fee_asset] -= fee
        self.fees += fee if fee_asset == strategy.quote_asset else fee * price
        time = datetime.fromtimestamp(int(self.candles.time[bar]) / 1000, tz=UTC)
        tag = ENTER if side == "buy" else EXIT
        fill = Fill(ref, tag, strategy.symbol, side, price, amount, fee, fee_asset, time)
        self.fills.append(SimFill(bar, fill))
        self.changes.append(
            (
                bar,
                self.balances.get(strategy.base_asset, ZERO),
                self.balances.get(strategy.quote_asset, ZERO),
            )
        )


def sma_crossover_kernel(
    strategy: SmaCrossover,
    candles: CandleArrays,
    config: BacktestConfig,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> EngineRun:
    """SMA crossover over every bar; Python runs only on the bars where the averages cross.

    Mirrors `SmaCrossover.on_signal` and the broker's market fills step for step (the
    engine tests compare it with the bar-by-bar replay, fill for fill).
    """
    fast, slow = strategy.p["fast"], strategy.p["slow"]
    n = len(candles)
    book = _Book(strategy, candles, config.broker, dict(config.initial))
    reporter = ProgressReporter(n, progress, cancelled)
    events, signals = _crossings(candles.close, fast, slow) if n > slow else ([], [])
    base_asset, quote_asset = strategy.base_asset, strategy.quote_asset
    step = config.broker.lot_step
    pending: tuple[int, str, Decimal | None] | None = None  # (bar placed, ref, sell amount)
    for t, signal in zip(events, signals, strict=True):
        if pending is not None:
            _settle(book, pending)
            pending = None
        base, quote = book.balances.get(base_asset, ZERO), book.balances.get(quote_asset, ZERO)
        long = base * to_decimal(candles.close[t]) > quote
        if signal > 0 and not long and quote > 0:
            book.seq += 1
            pending = (t, f"bt-{book.seq}", None)
        elif signal < 0 and long:
            book.seq += 1
            amount = round_to_step(base, step)
            if amount <= 0:
                book.rejections.append((t, EXIT, "amount rounds to zero"))
            else:
                pending = (t, f"bt-{book.seq}", amount)
        reporter.at(t)
    if pending is not None and pending[0] + 1 < n:
        _settle(book, pending)
    return EngineRun(
        candles=candles,
        fills=book.fills,
        changes=book.changes,
        state=strategy.initial_state(),
        balances=book.balances,
        fees_in_quote=book.fees,
        rejections=book.rejections,
        decisions=len(events),
        initial=dict(config.initial),
    )


def _settle(book: _Book, pending: tuple[int, str, Decimal | None]) -> None:
    placed, ref, amount = pending
    if amount is None:
        book.buy_all(placed + 1, ref)
    else:
        book.sell_all(placed + 1, ref, amount)


def _crossings(close: np.ndarray, fast: int, slow: int) -> tuple[list[int], list[int]]:
    """Bars where the fast average crosses the slow one, and the direction (1 up, -1 down)."""
    rel = _relation(close, fast, slow)
    # rel[k] belongs to bar slow-1+k; a crossing at bar t needs opposite strict signs at
    # t-1 and t (a zero product means "equal within tolerance" on one side).
    crossing = rel[1:] * rel[:-1] < 0
    return (np.flatnonzero(crossing) + slow).tolist(), rel[1:][crossing].tolist()


KERNELS = {SmaCrossover.slug: sma_crossover_kernel}

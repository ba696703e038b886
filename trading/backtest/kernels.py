"""Fast paths for strategies whose signal can be computed for every bar at once.

A kernel finds, with numpy, the bars on which the strategy's `decide` could act, and replays
only those through the same broker code in Decimal. It must give exactly what the engine's
bar-by-bar replay gives; tests compare the two on generated data.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from trading.backtest.broker import Bar, to_decimal
from trading.backtest.engine import (
    BacktestConfig,
    EngineRun,
    Progress,
    _Reporter,
    new_broker,
)
from trading.strategies.sma_crossover import EQUAL_WITHIN, SmaCrossover, compare
from trading.strategies.types import ZERO

# Float averages are within ~1e-13 relative of the Decimal ones; bars whose float distance is
# this close to the equality tolerance are settled in Decimal, exactly as `decide` does.
_UNSURE_BELOW = float(EQUAL_WITHIN) * 0.5
_UNSURE_ABOVE = float(EQUAL_WITHIN) * 1.5


def _window_sums(close: np.ndarray, window: int) -> np.ndarray:
    """Sums of each `window` consecutive closes (len(close) - window + 1 of them).

    Prices quoted with few decimals are summed exactly as scaled integers (one rounding when
    converted back); others fall back to a direct float convolution, whose error is
    window * 2**-53 relative at most.
    """
    scaled = _as_integers(close)
    if scaled is None:
        return np.convolve(close, np.ones(window), "valid")
    ints, scale = scaled
    prefix = np.concatenate(([0], np.cumsum(ints)))
    return (prefix[window:] - prefix[:-window]).astype(np.float64) / scale


def _as_integers(close: np.ndarray) -> tuple[np.ndarray, float] | None:
    for digits in range(9):
        scale = 10.0**digits
        ints = np.rint(close * scale)
        if np.array_equal(ints / scale, close):
            if ints.max(initial=0) * len(close) >= 2.0**62 or ints.min(initial=0) < 0:
                return None
            return ints.astype(np.int64), scale
    return None


def _relation(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """compare(fast SMA, slow SMA) for bars slow-1..n-1, as int8 (-1, 0, 1)."""
    fast_sma = _window_sums(close, fast)[slow - fast :] / fast
    slow_sma = _window_sums(close, slow) / slow
    diff = fast_sma - slow_sma
    scale = np.maximum(np.abs(fast_sma), np.abs(slow_sma))
    relation = np.sign(diff).astype(np.int8)
    distance = np.abs(diff)
    relation[distance <= _UNSURE_BELOW * scale] = 0
    unsure = (distance > _UNSURE_BELOW * scale) & (distance < _UNSURE_ABOVE * scale)
    for i in np.flatnonzero(unsure):
        end = slow + int(i)
        closes = [to_decimal(x) for x in close[end - slow : end]]
        relation[i] = compare(
            sum(closes[-fast:], Decimal(0)) / fast, sum(closes, Decimal(0)) / slow
        )
    return relation


def sma_crossover_kernel(
    strategy: SmaCrossover,
    candles,
    config: BacktestConfig,
    *,
    progress: Progress | None = None,
    cancelled=None,
) -> EngineRun:
    """SMA crossover over every bar, deciding in Python only where the averages cross."""
    fast, slow = strategy.p["fast"], strategy.p["slow"]
    n = len(candles)
    broker = new_broker(strategy, config)
    changes = []
    reporter = _Reporter(n, progress, cancelled)
    decisions = 0
    if n > slow:
        rel = _relation(candles.close, fast, slow)
        # rel[k] belongs to bar slow-1+k; a crossing at bar t needs opposite strict signs
        # at t-1 and t (a zero product means "equal within tolerance" on one side).
        crossing = rel[1:] * rel[:-1] < 0
        events = np.flatnonzero(crossing) + slow
        signals = rel[1:][crossing]
        base_asset, quote_asset = strategy.base_asset, strategy.quote_asset
        state = strategy.initial_state()
        pending_bar = -1
        for t, signal in zip(events.tolist(), signals.tolist(), strict=True):
            if broker.orders:
                filled_at = pending_bar + 1
                if broker.process_bar(Bar.at(candles, filled_at)):
                    totals = broker.totals()
                    changes.append(
                        (filled_at, totals.get(base_asset, ZERO), totals.get(quote_asset, ZERO))
                    )
            if broker.orders:  # decide() waits while its order is open; so does the kernel
                continue
            price = to_decimal(candles.close[t])
            decision = strategy.on_signal(state, signal, price, broker.position())
            decisions += 1
            for request in decision.place:
                broker.place(request, t)
                pending_bar = t
            reporter.at(t)
        if broker.orders and pending_bar + 1 < n:
            if broker.process_bar(Bar.at(candles, pending_bar + 1)):
                totals = broker.totals()
                changes.append(
                    (pending_bar + 1, totals.get(base_asset, ZERO), totals.get(quote_asset, ZERO))
                )
    return EngineRun(
        candles=candles,
        fills=broker.fills,
        changes=changes,
        state=strategy.initial_state(),
        balances=broker.totals(),
        fees_in_quote=broker.fees_in_quote,
        rejections=broker.rejections,
        decisions=decisions,
        initial=dict(config.initial),
    )


KERNELS = {SmaCrossover.slug: sma_crossover_kernel}

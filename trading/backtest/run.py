"""`backtest_run`: one strategy over one candle series, by the fastest path that is exact."""

from __future__ import annotations

import decimal

from trading.backtest.candles import CandleArrays
from trading.backtest.engine import (
    BacktestConfig,
    BacktestError,
    Cancelled,
    Mode,
    Progress,
    check_runnable,
    prepare_candles,
    run_decisions,
)
from trading.backtest.kernels import KERNELS
from trading.backtest.results import BacktestResult, result_build
from trading.strategies.base import Strategy

# Python's default decimal context, spelled out. ccxt sets the calling thread's rounding to
# ROUND_HALF_UP (and traps Underflow) whenever it formats an amount, so without this a
# backtest in a worker that has talked to an exchange would round differently from the same
# backtest in a fresh process (a sweep's pool) and its results would depend on what ran before.
BACKTEST_DECIMAL_CONTEXT = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def backtest_run(
    *,
    strategy: Strategy,
    candles: CandleArrays,
    config: BacktestConfig,
    mode: Mode = "auto",
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> BacktestResult:
    """Replay `strategy` over `candles` and return trades, equity curve and statistics.

    mode "bars" calls `decide` on every bar; "events" skips bars the strategy promises to
    ignore; "auto" uses a vectorised kernel when the strategy has one, else "events".
    All three give the same fills.
    """
    with decimal.localcontext(BACKTEST_DECIMAL_CONTEXT):
        return _run(strategy, candles, config, mode, progress, cancelled)


def _run(strategy, candles, config, mode, progress, cancelled) -> BacktestResult:
    check_runnable(strategy, config)
    candles = prepare_candles(strategy, candles)
    if len(candles) == 0:
        raise BacktestError("No candles in the chosen period.")
    kernel = KERNELS.get(strategy.slug) if mode == "auto" else None
    if kernel is not None:
        run = kernel(strategy, candles, config, progress=progress, cancelled=cancelled)
    else:
        run = run_decisions(
            strategy,
            candles,
            config,
            every_bar=mode == "bars",
            progress=progress,
            cancelled=cancelled,
        )
    return result_build(strategy=strategy, run=run)

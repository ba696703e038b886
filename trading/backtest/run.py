"""`backtest_run`: one strategy over one candle series, by the fastest path that is exact."""

from __future__ import annotations

from decimal import localcontext

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
from trading.strategies.types import DECIMAL_CONTEXT


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
    All three give the same fills, under the same fixed Decimal arithmetic whatever the
    calling thread's decimal context is.
    """
    with localcontext(DECIMAL_CONTEXT):
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

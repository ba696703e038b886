"""Backtesting: stored candles, the bots' own strategies replayed without look-ahead, results.

Public entry points (keyword-only):
    backtest_run(strategy=, candles=, config=, mode="auto", progress=None, cancelled=None)
    backtest_sweep(slug=, symbol=, base_params=, grid=, candles=, config=, workers=None, ...)
    candles_store(exchange=, symbol=, timeframe=, rows=, root=None) -> StoreReport
    candles_load(exchange=, symbol=, timeframe=, since_ms=None, until_ms=None, root=None)
"""

from trading.backtest.broker import BrokerConfig
from trading.backtest.candles import (
    CandleArrays,
    StoreReport,
    candles_load,
    candles_resample,
    candles_series_info,
    candles_series_list,
    candles_store,
)
from trading.backtest.engine import BacktestCancelled, BacktestConfig, BacktestError
from trading.backtest.results import BacktestResult, Trade
from trading.backtest.run import backtest_run
from trading.backtest.sweep import backtest_sweep, sweep_combinations, sweep_sort

__all__ = [
    "BacktestCancelled",
    "BacktestConfig",
    "BacktestError",
    "BacktestResult",
    "BrokerConfig",
    "CandleArrays",
    "StoreReport",
    "Trade",
    "backtest_run",
    "backtest_sweep",
    "candles_load",
    "candles_resample",
    "candles_series_info",
    "candles_series_list",
    "candles_store",
    "sweep_combinations",
    "sweep_sort",
]

"""Parameter sweeps: one backtest per combination of parameter values, across processes."""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from trading.backtest.candles import CandleArrays
from trading.backtest.engine import BacktestCancelled, BacktestConfig, Cancelled, Progress
from trading.backtest.run import backtest_run
from trading.strategies.base import strategy_build
from trading.strategies.params import ParamError

_worker: dict[str, Any] = {}


def sweep_combinations(
    base_params: Mapping[str, Any], grid: Mapping[str, Sequence[Any]]
) -> list[dict[str, Any]]:
    """Every combination of the `grid` values, each laid over `base_params`."""
    names = list(grid)
    return [
        {**base_params, **dict(zip(names, values, strict=True))}
        for values in itertools.product(*(grid[name] for name in names))
    ]


def backtest_sweep(
    *,
    slug: str,
    symbol: str,
    base_params: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    candles: CandleArrays,
    config: BacktestConfig,
    workers: int | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> list[dict[str, Any]]:
    """Backtest every parameter combination; return one row per combination, in grid order.

    A row is {"params": ..., "error": message or None, **statistics}. Invalid combinations
    (such as a fast average longer than the slow one) get an error instead of statistics.
    `workers` processes run the backtests (None: one per core); 0 runs them one after
    another in this process, for callers that may not start processes (daemonic ones).
    `progress(done, total)` is called as runs finish; `cancelled()` is polled about every
    fifth of a second, and a True answer stops the pool and raises BacktestCancelled.
    """
    combos = sweep_combinations(base_params, grid)
    rows: list[dict[str, Any] | None] = [None] * len(combos)
    todo = []
    for i, params in enumerate(combos):
        try:
            strategy_build(slug=slug, symbol=symbol, params=params)
        except ParamError as exc:
            rows[i] = {"params": params, "error": str(exc)}
        else:
            todo.append(i)
    total, done = len(combos), len(combos) - len(todo)
    if workers == 0:
        _run_here(slug, symbol, combos, todo, rows, candles, config, progress, cancelled)
        return rows  # type: ignore[return-value]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    # Imported here: multiprocessing costs every process that merely imports trading.backtest
    # (a single backtest, the web server) ~15-30 ms of start-up for a pool only sweeps use.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": a fresh interpreter per worker, safe even when the caller has threads.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, context, _init, (candles, config))
    try:
        pending: dict[Future, int] = {pool.submit(_one, slug, symbol, combos[i]): i for i in todo}
        while pending:
            if cancelled is not None and cancelled():
                raise BacktestCancelled()
            finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                i = pending.pop(future)
                rows[i] = {"params": combos[i], "error": None, **future.result()}
                done += 1
                if progress is not None:
                    progress(done, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return rows  # type: ignore[return-value]


def sweep_sort(rows: list[dict[str, Any]], key: str, *, descending: bool = True) -> list[dict]:
    """Rows ordered by one statistic; rows without a value for it go last."""
    present = [row for row in rows if row.get(key) is not None]
    missing = [row for row in rows if row.get(key) is None]
    return sorted(present, key=lambda row: float(row[key]), reverse=descending) + missing


def _run_here(slug, symbol, combos, todo, rows, candles, config, progress, cancelled) -> None:
    done, total = len(combos) - len(todo), len(combos)
    for i in todo:
        if cancelled is not None and cancelled():
            raise BacktestCancelled()
        strategy = strategy_build(slug=slug, symbol=symbol, params=combos[i])
        result = backtest_run(
            strategy=strategy, candles=candles, config=config, cancelled=cancelled
        )
        summary = result.summary()
        rows[i] = {"params": combos[i], "error": None, **summary}
        done += 1
        if progress is not None:
            progress(done, total)


def _init(candles: CandleArrays, config: BacktestConfig) -> None:
    _worker["candles"], _worker["config"] = candles, config


def _one(slug: str, symbol: str, params: dict[str, Any]) -> dict[str, Any]:
    strategy = strategy_build(slug=slug, symbol=symbol, params=params)
    result = backtest_run(strategy=strategy, candles=_worker["candles"], config=_worker["config"])
    return result.summary()

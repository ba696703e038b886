"""Parameter sweeps: every combination run in worker processes, a sortable table, cancellable."""

from decimal import Decimal

import pytest

from trading.backtest.engine import BacktestCancelled, BacktestConfig
from trading.backtest.run import backtest_run
from trading.backtest.sweep import backtest_sweep, sweep_combinations, sweep_sort
from trading.backtest.synthetic import candles_synthetic
from trading.strategies import strategy_build

CONFIG = BacktestConfig(initial={"USDT": Decimal(10_000)})
BASE = {"timeframe": "1m"}


def test_combinations_cover_the_grid_over_the_base_parameters():
    combos = sweep_combinations({"timeframe": "1m", "fast": 1}, {"fast": [5, 10], "slow": [20]})
    assert combos == [
        {"timeframe": "1m", "fast": 5, "slow": 20},
        {"timeframe": "1m", "fast": 10, "slow": 20},
    ]


def test_rows_sort_by_a_statistic_with_missing_values_last():
    rows = [{"sharpe": 1.0}, {"sharpe": None}, {"sharpe": 2.5}, {"sharpe": -1.0}]
    assert [r["sharpe"] for r in sweep_sort(rows, "sharpe")] == [2.5, 1.0, -1.0, None]
    assert [r["sharpe"] for r in sweep_sort(rows, "sharpe", descending=False)][0] == -1.0


@pytest.mark.slow
def test_a_sweep_runs_every_valid_combination_in_worker_processes():
    candles = candles_synthetic(20_000, seed=3)
    seen = []
    rows = backtest_sweep(
        slug="sma_crossover",
        symbol="BTC/USDT",
        base_params=BASE,
        grid={"fast": [5, 30], "slow": [20, 60]},
        candles=candles,
        config=CONFIG,
        workers=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [row["params"]["fast"] for row in rows] == [5, 5, 30, 30]
    assert "shorter" in rows[2]["error"]  # fast 30 with slow 20
    assert seen[-1] == (4, 4)
    # Each row is what a single backtest of those parameters reports.
    alone = backtest_run(
        strategy=strategy_build(slug="sma_crossover", symbol="BTC/USDT", params=rows[1]["params"]),
        candles=candles,
        config=CONFIG,
    ).summary()
    assert {k: rows[1][k] for k in alone} == alone


@pytest.mark.slow
def test_a_sweep_stops_when_its_cancel_hook_says_so():
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(BacktestCancelled):
        backtest_sweep(
            slug="sma_crossover",
            symbol="BTC/USDT",
            base_params=BASE,
            grid={"fast": list(range(2, 40)), "slow": [50, 60, 70]},
            candles=candles_synthetic(50_000),
            config=CONFIG,
            workers=2,
            cancelled=cancelled,
        )

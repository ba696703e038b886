"""Backtest speed: keytrade against backtesting.py, same data, same run, cold processes.

Generates 1,000,000 one-minute candles deterministically, stores them with keytrade's
candle store, then times in fresh interpreter processes (imports and loading included):
  - backtesting.py's SMA crossover (the reference) and keytrade's, with the same rules;
  - keytrade's grid strategy over the same candles;
  - a 75-combination SMA parameter sweep on every core.
Prints one table and exits non-zero if a target from issue 6 is missed.
Run: .venv/bin/python bench/backtest.py   (about two minutes on 2 cores)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = 1_000_000
CASH = 1_000_000
SMA_RUNS = [(50, 200), (10, 30)]
GRID = {"lower": "80", "upper": "240", "levels": 321, "amount": "20"}
SWEEP = {"fast": [5, 10, 15, 20, 25], "slow": list(range(30, 171, 10))}  # 5 x 15 = 75
TARGET_SMA, TARGET_GRID = 20.0, 5.0


def _peak_mb(children: bool = False) -> float:
    if children:  # the sweep's worker processes (largest one)
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # ru_maxrss survives exec on Linux (it would report the parent's peak); VmHWM does not.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _emit(started: float, **extra) -> None:
    print(json.dumps({"in_process": time.perf_counter() - started, "peak_mb": _peak_mb(), **extra}))


# -- children: each runs in a fresh interpreter --------------------------------------------------


def child_keytrade(root: str, slug: str, params_json: str, started: float) -> None:
    from trading.backtest.broker import BrokerConfig
    from trading.backtest.candles import candles_load
    from trading.backtest.run import backtest_run
    from trading.strategies import strategy_build

    candles = candles_load(exchange="bench", symbol="BTC/USDT", timeframe="1m", root=Path(root))
    strategy = strategy_build(slug=slug, symbol="BTC/USDT", params=json.loads(params_json))
    run_started = time.perf_counter()
    result = backtest_run(strategy=strategy, candles=candles, config=_config(BrokerConfig))
    run_seconds = time.perf_counter() - run_started
    _emit(
        started,
        run=run_seconds,
        final_equity=str(result.stats["final_equity"]),
        trades=result.stats["trades"],
        fills=result.stats["fills"],
    )


def _config(broker_config_cls):
    from trading.backtest.engine import BacktestConfig

    # backtesting.py's rules: whole units, commission in cash on both sides.
    broker = broker_config_cls(fee_rate=Decimal("0.001"), fee_in="quote", lot_step=Decimal(1))
    return BacktestConfig(initial={"USDT": Decimal(CASH), "BTC": Decimal(0)}, broker=broker)


def child_backtesting_py(root: str, fast: str, slow: str, started: float) -> None:
    import pandas as pd
    from backtesting import Backtest, Strategy

    from trading.backtest.candles import candles_load

    candles = candles_load(exchange="bench", symbol="BTC/USDT", timeframe="1m", root=Path(root))
    frame = pd.DataFrame(
        {
            "Open": candles.open,
            "High": candles.high,
            "Low": candles.low,
            "Close": candles.close,
            "Volume": candles.volume,
        },
        index=pd.to_datetime(candles.time, unit="ms"),
    )

    def sma(values, n):
        return pd.Series(values).rolling(n).mean()

    def relation(a, b):
        if abs(a - b) <= 1e-9 * max(abs(a), abs(b)):
            return 0
        return 1 if a > b else -1

    class SmaLongFlat(Strategy):
        fast_n = int(fast)
        slow_n = int(slow)

        def init(self):
            self.fast_sma = self.I(sma, self.data.Close, self.fast_n)
            self.slow_sma = self.I(sma, self.data.Close, self.slow_n)

        def next(self):
            before = relation(self.fast_sma[-2], self.slow_sma[-2])
            now = relation(self.fast_sma[-1], self.slow_sma[-1])
            if before < 0 < now and not self.position:
                self.buy()
            elif before > 0 > now and self.position:
                self.position.close()

    warnings.simplefilter("ignore")  # one warning per unaffordable order would be timed too
    os.environ["TQDM_DISABLE"] = "1"
    run_started = time.perf_counter()
    stats = Backtest(frame, SmaLongFlat, cash=CASH, commission=0.001).run()
    run_seconds = time.perf_counter() - run_started
    _emit(
        started,
        run=run_seconds,
        final_equity=repr(float(stats["Equity Final [$]"])),
        trades=int(stats["# Trades"]),
        fills=None,
    )


def child_sweep(root: str, started: float) -> None:
    from trading.backtest.broker import BrokerConfig
    from trading.backtest.candles import candles_load
    from trading.backtest.sweep import backtest_sweep

    candles = candles_load(exchange="bench", symbol="BTC/USDT", timeframe="1m", root=Path(root))
    run_started = time.perf_counter()
    rows = backtest_sweep(
        slug="sma_crossover",
        symbol="BTC/USDT",
        base_params={"timeframe": "1m"},
        grid=SWEEP,
        candles=candles,
        config=_config(BrokerConfig),
        workers=os.cpu_count(),
    )
    run_seconds = time.perf_counter() - run_started
    ran = sum(row["error"] is None for row in rows)
    print(
        json.dumps(
            {
                "in_process": time.perf_counter() - started,
                "peak_mb": max(_peak_mb(), _peak_mb(children=True)),
                "run": run_seconds,
                "combinations": len(rows),
                "ran": ran,
                "workers": os.cpu_count(),
            }
        )
    )


# -- parent -------------------------------------------------------------------------------------


def cold(*args: str) -> dict:
    """Run this file as a fresh process; wall time from spawn to exit."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"child {args[0]} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def _compile_bytecode() -> None:
    """Write keytrade's bytecode, as pip did for backtesting.py, pandas and numpy at install.

    Without it (PYTHONDONTWRITEBYTECODE set, or a fresh checkout) every cold keytrade process
    would compile its modules from source, a cost an installed application does not pay.
    """
    import compileall

    for package in ("keytrade", "accounts", "trading"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def main() -> int:
    import numpy as np

    _compile_bytecode()

    from trading.backtest.candles import candles_store
    from trading.backtest.synthetic import candles_synthetic

    with tempfile.TemporaryDirectory() as root:
        candles = candles_synthetic(N, seed=7)
        rows = np.column_stack(candles.columns()).astype(np.float64)
        candles_store(
            exchange="bench", symbol="BTC/USDT", timeframe="1m", rows=rows, root=Path(root)
        )
        table, failures = [], []
        reference = None
        for fast, slow in SMA_RUNS:
            params = json.dumps({"fast": fast, "slow": slow, "timeframe": "1m"})
            theirs = cold("backtesting_py", root, str(fast), str(slow))
            ours = cold("keytrade", root, "sma_crossover", params)
            reference = reference or theirs
            same = float(ours["final_equity"]) == _approx(float(theirs["final_equity"]))
            ratio = theirs["wall"] / ours["wall"]
            table.append((f"backtesting.py SMA {fast}/{slow}", theirs, None, ""))
            table.append((f"keytrade SMA {fast}/{slow}", ours, ratio, f"same final equity: {same}"))
            if ratio < TARGET_SMA:
                failures.append(f"SMA {fast}/{slow} is {ratio:.1f}x, target {TARGET_SMA}x")
            if not same:
                failures.append(f"SMA {fast}/{slow} final equity differs from backtesting.py")
        grid = cold("keytrade", root, "grid", json.dumps(GRID))
        grid_ratio = reference["wall"] / grid["wall"]
        table.append(("keytrade grid (321 levels)", grid, grid_ratio, f"{grid['fills']} fills"))
        if grid_ratio < TARGET_GRID:
            failures.append(f"grid is {grid_ratio:.1f}x, target {TARGET_GRID}x")
        sweep = cold("sweep", root)
        table.append(
            (
                f"keytrade sweep ({sweep['ran']} runs, {sweep['workers']} procs)",
                sweep,
                None,
                f"{sweep['combinations']} combinations",
            )
        )
    _print(table, sweep)
    for failure in failures:
        print("MISSED:", failure)
    return 1 if failures else 0


class _approx(float):
    def __eq__(self, other):
        return abs(float(self) - other) <= 1e-9 * max(abs(float(self)), abs(other), 1.0)

    __hash__ = float.__hash__


def _print(table, sweep) -> None:
    print(f"\n{N:,} one-minute candles; cold process = interpreter start to exit, imports included")
    head = f"{'run':<40}{'cold s':>9}{'run s':>9}{'candles/s':>14}{'peak MB':>9}{'vs ref':>9}"
    print(head)
    print("-" * len(head))
    for name, row, ratio, note in table:
        candles = N * (sweep["ran"] if row is sweep else 1)
        rate = candles / row["wall"]
        shown = f"{ratio:.1f}x" if ratio else ""
        print(
            f"{name:<40}{row['wall']:>9.2f}{row['run']:>9.2f}{rate:>14,.0f}"
            f"{row['peak_mb']:>9.0f}{shown:>9}  {note}"
        )
    print(
        f"targets: SMA >= {TARGET_SMA:.0f}x backtesting.py's SMA (cold); "
        f"grid >= {TARGET_GRID:.0f}x faster than backtesting.py's SMA %d/%d" % SMA_RUNS[0]
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        begun = time.perf_counter()
        kind, *rest = sys.argv[2:]
        if kind == "keytrade":
            child_keytrade(*rest, begun)
        elif kind == "backtesting_py":
            child_backtesting_py(*rest, begun)
        else:
            child_sweep(*rest, begun)
    else:
        sys.exit(main())

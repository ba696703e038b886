"""What the backtesting pages show: statistics rows, chart data, comparisons, heat maps.

Pure functions of stored rows and candles (no writes), kept apart from the job services.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from trading.backtest import candles_load, candles_resample
from trading.backtest_models import BacktestRun, SweepRun
from trading.exchange.types import from_ms, to_ms
from trading.strategies import strategy_registry
from trading.strategies.params import TIMEFRAME_SECONDS, TIMEFRAMES

# (key, label, kind): kinds decide the format and whether a heat map can colour it by sign.
STATS = (
    ("total_return", "Total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("sharpe", "Sharpe", "ratio"),
    ("sortino", "Sortino", "ratio"),
    ("win_rate", "Win rate", "share"),
    ("exposure", "Exposure", "share"),
    ("fees_paid", "Fees paid", "money"),
    ("trades", "Trades", "int"),
    ("final_equity", "Final equity", "money"),
)
STAT_LABELS = {key: label for key, label, _ in STATS}
STAT_KINDS = {key: kind for key, _, kind in STATS}
HEATMAP_METRICS = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "win_rate")
MAX_CHART_BARS = 1500


def stat_text(key: str, value: Any) -> str:
    """A statistic as the pages print it: signed percentages, two-decimal ratios and money."""
    if value is None or value == "":
        return "–"
    kind = STAT_KINDS.get(key, "ratio")
    number = float(value)
    if not math.isfinite(number):
        return "–"
    if kind == "pct":
        return f"{number * 100:+.2f} %"
    if kind == "share":
        return f"{number * 100:.1f} %"
    if kind == "int":
        return f"{int(number):,}"
    if kind == "money":
        return f"{number:,.2f}"
    return f"{number:+.2f}"


def stats_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) for each statistic of a run, in a fixed order."""
    return [(label, stat_text(key, summary.get(key))) for key, label, _ in STATS]


def comparison_rows(runs: list[BacktestRun]) -> list[dict]:
    """One row per statistic with each run's value, for runs compared side by side."""
    return [
        {"label": label, "values": [stat_text(key, run.summary.get(key)) for run in runs]}
        for key, label, _ in STATS
    ]


def trades_display(trades: Iterable[Mapping]) -> list[dict[str, Any]]:
    """Stored trades with UTC datetimes and Decimals, for the trades table."""
    return [
        {
            "entry": from_ms(t["entry_ms"]),
            "exit": from_ms(t["exit_ms"]),
            "amount": Decimal(t["amount"]),
            "entry_price": Decimal(t["entry_price"]),
            "exit_price": Decimal(t["exit_price"]),
            "pnl": Decimal(t["pnl"]),
            "gain": Decimal(t["pnl"]) > 0,
        }
        for t in trades
    ]


# --- charts ---------------------------------------------------------------------------------


def _display_timeframe(timeframe: str, span_ms: int) -> str:
    """The shortest timeframe (not shorter than the stored one) that fits the chart."""
    stored = TIMEFRAME_SECONDS[timeframe]
    for candidate in TIMEFRAMES:
        seconds = TIMEFRAME_SECONDS[candidate]
        if seconds >= stored and seconds % stored == 0:
            if span_ms // (seconds * 1000) <= MAX_CHART_BARS:
                return candidate
    return TIMEFRAMES[-1]


MARKERS_WITH_PRICE = 40


def _plain(price) -> str:
    """A price without trailing zeros: "99.7400000000000000" -> "99.74"."""
    try:
        text = f"{Decimal(str(price)):f}"
    except (InvalidOperation, ValueError):
        return str(price)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _markers(fills: Iterable[Mapping], step_ms: int) -> list[dict]:
    """Fills grouped per chart bar and side: an arrow plus B / S and a count, never colour only."""
    groups: dict[tuple[int, str], list[Mapping]] = {}
    for fill in fills:
        groups.setdefault((fill["ms"] // step_ms * step_ms, fill["side"]), []).append(fill)
    # Prices beside every marker of a busy run pile up into an unreadable smear; the crosshair
    # and the trades table give them. A run with few trades keeps its prices on the chart.
    with_price = len(groups) <= MARKERS_WITH_PRICE
    markers = []
    for (bar_ms, side), items in sorted(groups.items()):
        buy = side == "buy"
        letter = "B" if buy else "S"
        if len(items) > 1:
            text = f"{letter}×{len(items)}"
        elif with_price:
            text = f"{letter} {_plain(items[0]['price'])}"
        else:
            text = letter
        markers.append(
            {
                "time": bar_ms // 1000,
                "position": "belowBar" if buy else "aboveBar",
                "shape": "arrowUp" if buy else "arrowDown",
                "color": "#1b6e3a" if buy else "#b3261e",
                "text": text,
            }
        )
    return markers


def _chart_candles(run: BacktestRun) -> tuple[str, list[dict]]:
    """The run's candles resampled to fit the chart, and the timeframe they were shown in."""
    try:
        stored = candles_load(
            exchange=run.exchange,
            symbol=run.symbol,
            timeframe=run.timeframe,
            since_ms=to_ms(run.since),
            until_ms=to_ms(run.until),
        )
    except FileNotFoundError:
        return run.timeframe, []  # the series was deleted since: the equity curve still shows
    if not len(stored):
        return run.timeframe, []
    span = int(stored.time[-1] - stored.time[0]) + stored.timeframe_ms
    shown = _display_timeframe(run.timeframe, span)
    bars = candles_resample(stored, shown)
    columns = (bars.time // 1000, bars.open, bars.high, bars.low, bars.close)
    return shown, [
        {"time": t, "open": o, "high": h, "low": lo, "close": c}
        for t, o, h, lo, c in zip(*(column.tolist() for column in columns), strict=True)
    ]


def run_chart_data(run: BacktestRun) -> dict[str, Any]:
    """Equity points, price candles (resampled to fit) and trade markers for a run's charts."""
    result = run.result or {}
    shown, candles = _chart_candles(run)
    return {
        "symbol": run.symbol,
        "timeframe": shown,
        "equity": [{"time": ms // 1000, "value": value} for ms, value in result.get("equity", [])],
        "candles": candles,
        "markers": _markers(result.get("fills", []), TIMEFRAME_SECONDS[shown] * 1000),
    }


def _strategy_name(slug: str) -> str:
    cls = strategy_registry.get(slug)
    return cls.name if cls is not None else slug


def _params(run: BacktestRun) -> str:
    return " ".join(f"{k}={v}" for k, v in (run.params or {}).items())


def compare_chart_data(runs: list[BacktestRun]) -> dict[str, Any]:
    """Each run's equity as a return in percent, so runs with different cash overlay."""
    series = []
    for number, run in enumerate(runs, start=1):
        points = (run.result or {}).get("equity", [])
        first = points[0][1] if points else None
        series.append(
            {
                "name": f"#{number} {_strategy_name(run.strategy)} {run.symbol} {_params(run)}",
                "points": [
                    {"time": ms // 1000, "value": (value / first - 1) * 100}
                    for ms, value in points
                    if first
                ],
            }
        )
    return {"series": series}


# --- sweeps ---------------------------------------------------------------------------------


def sweep_varying(sweep: SweepRun) -> list[str]:
    """The swept parameters: those given more than one value."""
    return [name for name, values in (sweep.grid or {}).items() if len(values) > 1]


def _level(value: float, center: float, scale: float) -> str:
    if scale <= 0 or value == center:
        return "hm-zero"
    level = min(3, max(1, math.ceil(3 * abs(value - center) / scale)))
    return f"hm-{'pos' if value > center else 'neg'}-{level}"


def sweep_heatmap(sweep: SweepRun, *, x: str, y: str, metric: str) -> dict[str, Any]:
    """A two-parameter grid of one statistic; the best over any other swept parameters.

    Each cell carries its number and sign as text and a colour class by sign and size, so
    colour is never the only signal.
    """
    xs, ys = list(sweep.grid.get(x, [])), list(sweep.grid.get(y, []))
    best: dict[tuple[int, int], float] = {}
    for row in sweep.rows or []:
        value = row.get(metric)
        params = row["params"]
        if value is None or params.get(x) not in xs or params.get(y) not in ys:
            continue
        cell = (xs.index(params[x]), ys.index(params[y]))
        best[cell] = max(float(value), best.get(cell, -math.inf))
    center = 0.5 if metric == "win_rate" else 0.0
    scale = max((abs(v - center) for v in best.values()), default=0.0)
    table = [
        [
            {"text": stat_text(metric, best[(i, j)]), "css": _level(best[(i, j)], center, scale)}
            if (i, j) in best
            else {"text": "n/a", "css": "hm-none"}
            for i in range(len(xs))
        ]
        for j in range(len(ys))
    ]
    return {
        "x": x,
        "y": y,
        "metric": metric,
        "label": STAT_LABELS[metric],
        "xs": xs,
        "rows": list(zip(ys, table, strict=True)),
        "best_of_others": len(sweep_varying(sweep)) > 2,
    }


def sweep_table(rows: list[dict], params: list[str]) -> list[dict]:
    """Sweep rows for the table: the swept parameter values and each statistic as text."""
    return [
        {
            "params": [row["params"].get(name) for name in params],
            "error": row.get("error"),
            "stats": [stat_text(key, row.get(key)) for key, _, _ in STATS],
            "all_params": row["params"],
        }
        for row in rows
    ]

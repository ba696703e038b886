"""Backtest results: trades, the equity curve and the statistics users compare runs by.

Money stays Decimal (final equity, fees, each trade's profit); the equity curve and the ratios
derived from it are floats, computed in bulk with numpy.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from trading.backtest.broker import to_decimal
from trading.backtest.engine import EngineRun
from trading.strategies.types import ZERO

YEAR_MS = 365.25 * 86_400_000


@dataclass(frozen=True)
class Trade:
    """A sell matched first-in first-out against the buys before it (fees included in pnl)."""

    entry_bar: int
    exit_bar: int
    amount: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal


@dataclass
class BacktestResult:
    strategy: str
    symbol: str
    timeframe: str
    params: dict[str, Any]
    run: EngineRun
    trades: list[Trade]
    time: np.ndarray
    equity: np.ndarray
    stats: dict[str, Any]

    @property
    def fills(self):
        return self.run.fills

    def summary(self) -> dict[str, Any]:
        """Statistics as JSON primitives (Decimals as strings), for storing and tables."""
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.stats.items()}

    def equity_points(self, max_points: int = 2000) -> list[tuple[int, float]]:
        """(time in ms, equity) thinned to at most `max_points`, first and last kept, for charts."""
        n = len(self.equity)
        if n == 0:
            return []
        picks = np.unique(np.linspace(0, n - 1, min(n, max_points)).astype(np.int64))
        return list(zip(self.time[picks].tolist(), self.equity[picks].tolist(), strict=True))

    def trades_json(self) -> list[dict[str, Any]]:
        """Trades as JSON primitives: bar times in ms, Decimals as strings."""
        times = self.time
        return [
            {
                "entry_ms": int(times[t.entry_bar]),
                "exit_ms": int(times[t.exit_bar]),
                "amount": str(t.amount),
                "entry_price": str(t.entry_price),
                "exit_price": str(t.exit_price),
                "pnl": str(t.pnl),
            }
            for t in self.trades
        ]


def result_build(*, strategy, run: EngineRun) -> BacktestResult:
    """Derive trades, the equity curve and the statistics from an engine run."""
    candles = run.candles
    base_asset, quote_asset = strategy.base_asset, strategy.quote_asset
    equity, holding = _equity_curve(run, base_asset, quote_asset)
    trades = _trades(run, base_asset)
    final_close = to_decimal(candles.close[-1]) if len(candles) else ZERO
    final_equity = run.balances.get(quote_asset, ZERO) + run.balances.get(base_asset, ZERO) * (
        final_close
    )
    stats = {
        "bars": len(candles),
        "initial_equity": float(equity[0]) if len(equity) else None,
        "final_equity": final_equity,
        **_ratios(equity, candles.timeframe_ms),
        "win_rate": (sum(t.pnl > 0 for t in trades) / len(trades)) if trades else None,
        "exposure": float(holding.mean()) if len(holding) else 0.0,
        "fees_paid": run.fees_in_quote,
        "trades": len(trades),
        "fills": len(run.fills),
        "rejected_orders": len(run.rejections),
        "decisions": run.decisions,
    }
    return BacktestResult(
        strategy=strategy.slug,
        symbol=strategy.symbol,
        timeframe=candles.timeframe,
        params=strategy.params_json(),
        run=run,
        trades=trades,
        time=candles.time,
        equity=equity,
        stats=stats,
    )


def _equity_curve(run: EngineRun, base_asset: str, quote_asset: str):
    n = len(run.candles)
    bars = np.fromiter((c[0] for c in run.changes), dtype=np.int64, count=len(run.changes))
    base = np.array([float(run.initial.get(base_asset, ZERO))] + [float(c[1]) for c in run.changes])
    quote = np.array(
        [float(run.initial.get(quote_asset, ZERO))] + [float(c[2]) for c in run.changes]
    )
    # Holdings in force at each bar: those after the last change at or before it.
    which = np.zeros(n, dtype=np.int64)
    which[bars] = np.arange(1, len(bars) + 1)
    which = np.maximum.accumulate(which)
    held = base[which]
    return quote[which] + held * run.candles.close, held > 0


def _ratios(equity: np.ndarray, timeframe_ms: int) -> dict[str, float | None]:
    if len(equity) < 2 or equity[0] <= 0:
        return dict.fromkeys(("total_return", "cagr", "max_drawdown", "sharpe", "sortino"))
    total = float(equity[-1] / equity[0] - 1)
    years = len(equity) * timeframe_ms / YEAR_MS
    with np.errstate(over="ignore"):
        # Over a few minutes a small gain compounds past any float; report no CAGR then.
        cagr = (equity[-1] / equity[0]) ** (1 / years) - 1 if equity[-1] > 0 else -1.0
    peak = np.maximum.accumulate(equity)
    drawdown = float((equity / peak - 1).min())
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.diff(equity) / equity[:-1]
    returns = returns[np.isfinite(returns)]
    per_year = math.sqrt(YEAR_MS / timeframe_ms)
    mean, std = returns.mean(), returns.std()
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return {
        "total_return": total,
        "cagr": float(cagr) if np.isfinite(cagr) else None,
        "max_drawdown": drawdown,
        "sharpe": float(mean / std * per_year) if std > 0 else None,
        "sortino": float(mean / downside * per_year) if downside > 0 else None,
    }


def _trades(run: EngineRun, base_asset: str) -> list[Trade]:
    lots: deque[list] = deque()  # [bar, base left, fill price, cost per unit with fees]
    trades = []
    for sim in run.fills:
        fill = sim.fill
        if fill.side == "buy":
            got = fill.amount - (fill.fee if fill.fee_asset == base_asset else ZERO)
            cost = fill.amount * fill.price + (fill.fee if fill.fee_asset != base_asset else ZERO)
            if got > 0:
                lots.append([sim.bar, got, fill.price, cost / got])
            continue
        proceeds_per_unit = (fill.amount * fill.price - fill.fee) / fill.amount
        left, cost, paid, first_bar = fill.amount, ZERO, ZERO, None
        while left > 0 and lots:
            lot = lots[0]
            take = min(left, lot[1])
            first_bar = lot[0] if first_bar is None else first_bar
            cost += take * lot[3]
            paid += take * lot[2]
            lot[1] -= take
            left -= take
            if lot[1] <= 0:
                lots.popleft()
        matched = fill.amount - left
        if matched > 0:
            trades.append(
                Trade(
                    entry_bar=first_bar,
                    exit_bar=sim.bar,
                    amount=matched,
                    entry_price=paid / matched,
                    exit_price=fill.price,
                    pnl=matched * proceeds_per_unit - cost,
                )
            )
    return trades

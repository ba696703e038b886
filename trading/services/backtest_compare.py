"""Live against backtest: a bot's actual fills next to what the engine simulates, trade by trade.

When backtest and live disagree users stop trusting the tool, so this shows exactly where:
a fill the engine also made (and how far its price and time differ), a fill only the live
bot made, or one only the backtest made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from trading.backtest import (
    BacktestConfig,
    BacktestError,
    BrokerConfig,
    CandleArrays,
    backtest_run,
    candles_load,
    candles_series_info,
)
from trading.backtest.candles import timeframe_ms
from trading.exchange.types import to_ms
from trading.strategies import strategy_build
from trading.strategies.types import split_symbol

ZERO = Decimal(0)


@dataclass(frozen=True)
class FillPoint:
    ms: int
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "ms": self.ms,
            "side": self.side,
            "price": str(self.price),
            "amount": str(self.amount),
            "fee": str(self.fee),
        }


def _field(fill, *names):
    for name in names:
        value = fill.get(name) if isinstance(fill, Mapping) else getattr(fill, name, None)
        if value is not None:
            return value
    raise ValueError(f"a fill needs one of {names}")


def fill_point(fill) -> FillPoint:
    """Read a fill (trading.models.Fill, strategies' Fill, or a mapping) as a FillPoint."""
    when = _field(fill, "executed_at", "time", "ms")
    ms = to_ms(when) if isinstance(when, datetime) else int(when)
    fee = fill.get("fee") if isinstance(fill, Mapping) else getattr(fill, "fee", None)
    return FillPoint(
        ms=ms,
        side=str(_field(fill, "side")).lower(),
        price=Decimal(str(_field(fill, "price"))),
        amount=Decimal(str(_field(fill, "amount"))),
        fee=Decimal(str(fee)) if fee is not None else ZERO,
    )


def align_fills(
    live: Sequence[FillPoint], simulated: Sequence[FillPoint], *, tolerance_ms: int
) -> list[dict[str, Any]]:
    """Pair each live fill with the nearest unpaired simulated fill of the same side in time.

    Fills further apart than `tolerance_ms` are not the same trade: each is listed alone.
    Rows come back in time order.
    """
    free = list(range(len(simulated)))
    rows = []
    for fill in sorted(live, key=lambda f: f.ms):
        near = [
            i
            for i in free
            if simulated[i].side == fill.side and abs(simulated[i].ms - fill.ms) <= tolerance_ms
        ]
        if not near:
            rows.append(_row(fill, None))
            continue
        best = min(near, key=lambda i: (abs(simulated[i].ms - fill.ms), i))
        free.remove(best)
        rows.append(_row(fill, simulated[best]))
    rows += [_row(None, simulated[i]) for i in free]
    return sorted(rows, key=lambda row: (row["ms"], row["status"]))


def _row(live: FillPoint | None, sim: FillPoint | None) -> dict[str, Any]:
    first = live or sim
    row: dict[str, Any] = {
        "ms": min(f.ms for f in (live, sim) if f is not None),
        "side": first.side,
        "live": live.as_json() if live else None,
        "backtest": sim.as_json() if sim else None,
        "status": "both" if live and sim else ("live only" if live else "backtest only"),
        "price_diff": None,
        "price_diff_pct": None,
        "amount_diff": None,
        "delay_s": None,
    }
    if live and sim:
        diff = live.price - sim.price
        row["price_diff"] = str(diff)
        row["price_diff_pct"] = float(diff / sim.price * 100) if sim.price else None
        row["amount_diff"] = str(live.amount - sim.amount)
        row["delay_s"] = (live.ms - sim.ms) / 1000
    return row


def backtest_compare_fills(
    *,
    fills: Iterable,
    candles: CandleArrays,
    strategy: str,
    params: Mapping[str, Any],
    config: BacktestConfig,
    symbol: str,
    tolerance_bars: int = 2,
    from_ms: int | None = None,
) -> dict[str, Any]:
    """Replay the strategy over `candles` and align its fills with the actual `fills`.

    `candles` should cover the period the bot ran (plus the strategy's warm-up before
    `from_ms`, whose simulated fills are left out); `config` holds what it started with.
    Returns {"rows": [...], "matched", "live_only", "backtest_only", "summary"}.
    """
    built = strategy_build(slug=strategy, symbol=symbol, params=params)
    result = backtest_run(strategy=built, candles=candles, config=config)
    simulated = [
        FillPoint(
            ms=int(result.time[sim.bar]),
            side=sim.fill.side,
            price=sim.fill.price,
            amount=sim.fill.amount,
            fee=sim.fill.fee,
        )
        for sim in result.fills
        if from_ms is None or int(result.time[sim.bar]) >= from_ms
    ]
    live = [fill_point(fill) for fill in fills]
    tolerance = tolerance_bars * timeframe_ms(result.timeframe)
    rows = align_fills(live, simulated, tolerance_ms=tolerance)
    counts = {status: sum(r["status"] == status for r in rows) for status in ("both", "live only")}
    return {
        "rows": rows,
        "matched": counts["both"],
        "live_only": counts["live only"],
        "backtest_only": len(rows) - counts["both"] - counts["live only"],
        "summary": result.summary(),
    }


# --- a bot's report ---------------------------------------------------------------------------


def _series_for(bot, strategy) -> tuple[str, dict] | None:
    """The stored candles to replay a bot on: its strategy's timeframe, else minutes."""
    for timeframe in dict.fromkeys((strategy.timeframe, "1m")):
        info = candles_series_info(
            exchange=bot.key.exchange, symbol=bot.symbol, timeframe=timeframe
        )
        if info and info.get("count"):
            return timeframe, info
    return None


def bot_backtest_report(
    *, bot, starting_cash: Decimal, fee_rate: Decimal, now_ms: int | None = None
) -> dict[str, Any]:
    """A bot's own fills since it started next to the engine's over the same period.

    Returns {"missing": {exchange, symbol, timeframe, days, period}} when no candles of the
    bot's period are stored yet (`period` is true when other periods are), and {"error": ...}
    when the engine cannot replay the stored candles.
    """
    strategy = strategy_build(slug=bot.strategy, symbol=bot.symbol, params=bot.params)
    trades = list(bot.trades.order_by("ts", "id"))
    start = bot.started_at or (trades[0].ts if trades else bot.created_at)
    start_ms = to_ms(start)
    end_ms = now_ms if now_ms is not None else to_ms(timezone.now())
    days = max(1, math.ceil((end_ms - start_ms) / 86_400_000) + 1)
    missing = {"exchange": bot.key.exchange, "symbol": bot.symbol, "days": days}
    found = _series_for(bot, strategy)
    if found is None:
        return {"missing": {**missing, "timeframe": strategy.timeframe, "period": False}}
    timeframe, _ = found
    warmup = strategy.lookback() * timeframe_ms(strategy.timeframe)
    candles = candles_load(
        exchange=bot.key.exchange,
        symbol=bot.symbol,
        timeframe=timeframe,
        since_ms=start_ms - warmup,
        until_ms=end_ms,
    )
    if not len(candles):  # stored candles of other periods only: the replay has nothing to run on
        return {"missing": {**missing, "timeframe": timeframe, "period": True}}
    _, quote = split_symbol(bot.symbol)
    config = BacktestConfig(initial={quote: starting_cash}, broker=BrokerConfig(fee_rate=fee_rate))
    fills = [
        {"time": t.ts, "side": t.side, "price": t.price, "amount": t.amount, "fee": t.fee}
        for t in trades
    ]
    try:
        report = backtest_compare_fills(
            fills=fills,
            candles=candles,
            strategy=bot.strategy,
            params=bot.params,
            config=config,
            symbol=bot.symbol,
            from_ms=start_ms,
        )
    except BacktestError as exc:
        return {"error": str(exc)}
    return {**report, "timeframe": timeframe, "since_ms": start_ms, "until_ms": end_ms}

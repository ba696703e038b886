"""Live against backtest: actual fills aligned trade by trade with the engine's over the period."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.backtest import BacktestConfig, backtest_run
from trading.backtest.synthetic import candles_synthetic
from trading.services.backtest_compare import align_fills, backtest_compare_fills, fill_point
from trading.strategies import strategy_build

PARAMS = {"fast": 5, "slow": 20, "timeframe": "1m"}
CONFIG = BacktestConfig(initial={"USDT": Decimal(10_000)})


def simulated(candles):
    strategy = strategy_build(slug="sma_crossover", symbol="BTC/USDT", params=PARAMS)
    result = backtest_run(strategy=strategy, candles=candles, config=CONFIG)
    return [
        {
            "time": datetime.fromtimestamp(int(result.time[s.bar]) / 1000, tz=UTC),
            "side": s.fill.side,
            "price": s.fill.price,
            "amount": s.fill.amount,
            "fee": s.fill.fee,
        }
        for s in result.fills
    ]


def test_a_bot_that_traded_like_the_backtest_matches_it_fill_for_fill():
    candles = candles_synthetic(2000, seed=5)
    live = simulated(candles)
    report = backtest_compare_fills(
        fills=live, candles=candles, strategy="sma_crossover", params=PARAMS, config=CONFIG,
        symbol="BTC/USDT",
    )  # fmt: skip
    assert report["matched"] == len(live) > 4
    assert report["live_only"] == report["backtest_only"] == 0
    assert all(Decimal(r["price_diff"]) == 0 and r["delay_s"] == 0 for r in report["rows"])


def test_divergences_show_as_price_gaps_missed_trades_and_extra_trades():
    candles = candles_synthetic(2000, seed=5)
    live = simulated(candles)
    # Live: every fill 0.5 % worse and a minute late, the second fill never happened,
    # and one extra buy the backtest never made.
    late = [
        {**f, "price": f["price"] * Decimal("1.005"), "time": f["time"] + timedelta(minutes=1)}
        for f in live
    ]
    missed = late.pop(1)
    extra = {**late[0], "time": late[-1]["time"] + timedelta(hours=5)}
    report = backtest_compare_fills(
        fills=[*late, extra], candles=candles, strategy="sma_crossover", params=PARAMS,
        config=CONFIG, symbol="BTC/USDT",
    )  # fmt: skip
    assert (report["matched"], report["live_only"], report["backtest_only"]) == (
        len(live) - 1, 1, 1,
    )  # fmt: skip
    both = [row for row in report["rows"] if row["status"] == "both"]
    assert all(abs(row["price_diff_pct"] - 0.5) < 1e-9 and row["delay_s"] == 60 for row in both)
    only_backtest = next(r for r in report["rows"] if r["status"] == "backtest only")
    assert only_backtest["backtest"]["ms"] == fill_point(missed).ms - 60_000
    times = [row["ms"] for row in report["rows"]]
    assert times == sorted(times)


def test_fills_further_apart_than_the_tolerance_are_not_the_same_trade():
    a = fill_point({"ms": 0, "side": "buy", "price": "100", "amount": "1"})
    b = fill_point({"ms": 10 * 60_000, "side": "buy", "price": "100", "amount": "1"})
    rows = align_fills([a], [b], tolerance_ms=2 * 60_000)
    assert [row["status"] for row in rows] == ["live only", "backtest only"]
    sell = fill_point({"ms": 0, "side": "sell", "price": "100", "amount": "1"})
    assert [r["status"] for r in align_fills([a], [sell], tolerance_ms=60_000)] == [
        "backtest only", "live only",
    ]  # fmt: skip

"""The backtest engine: the paper exchange's fill rules, no look-ahead, and exact fast paths."""

import decimal
import json
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from trading.backtest.broker import BrokerConfig
from trading.backtest.candles import CandleArrays
from trading.backtest.engine import BacktestConfig, BacktestError
from trading.backtest.run import backtest_run
from trading.backtest.synthetic import candles_synthetic
from trading.strategies import Decision, OrderRequest, Strategy, strategy_build

D = Decimal
SYMBOL = "BTC/USDT"


class Scripted(Strategy):
    """Places the orders listed for each bar index; records what it was shown."""

    slug = "scripted"
    name = "Scripted"
    description = "test double"

    def __init__(self, script, lookback=1):
        super().__init__(symbol=SYMBOL)
        self.script, self._lookback, self.seen = script, lookback, []

    def lookback(self):
        return self._lookback

    def decide(self, state, market, open_orders, position, fills=()):
        bar = state.get("bar", 0)
        self.seen.append((market.time, [c.time for c in market.candles], list(fills)))
        return Decision(state={"bar": bar + 1}, place=tuple(self.script.get(bar, ())))


def bars(*rows, timeframe="1m"):
    """Candles from (open, high, low, close) rows, one minute apart."""
    table = np.array(rows, dtype=float)
    time = 1_704_067_200_000 + np.arange(len(rows), dtype=np.int64) * 60_000
    return CandleArrays(timeframe, time, *table.T, np.ones(len(rows)))


def run(strategy, candles, mode="bars", **broker):
    config = BacktestConfig(initial={"USDT": D(1000), "BTC": D(1)}, broker=BrokerConfig(**broker))
    return backtest_run(strategy=strategy, candles=candles, config=config, mode=mode)


def limit(side, price, amount="1"):
    return OrderRequest(SYMBOL, side, "limit", f"{side}-{price}", amount=D(amount), price=D(price))


def test_a_limit_buy_fills_on_a_later_bar_at_its_price_never_on_the_bar_it_was_placed():
    candles = bars((100, 101, 90, 100), (100, 101, 94, 96), (99, 100, 96, 98))
    result = run(Scripted({0: [limit("buy", 95)]}), candles)
    (fill,) = result.fills
    assert fill.bar == 1  # bar 0 traded at 90 but the order came after its close
    assert fill.fill.price == D(95)


def test_a_limit_buy_fills_at_the_open_when_the_bar_opens_below_it():
    candles = bars((100, 101, 99, 100), (93, 94, 92, 93))
    (fill,) = run(Scripted({0: [limit("buy", 95)]}), candles).fills
    assert fill.fill.price == D(93)


def test_a_limit_sell_fills_when_the_high_reaches_it_at_its_price_or_a_higher_open():
    candles = bars((100, 101, 99, 100), (100, 104, 99, 103), (107, 108, 106, 107))
    orders = {0: [limit("sell", 104, "0.5")], 1: [limit("sell", 105, "0.5")]}
    result = run(Scripted(orders), candles)
    assert [(f.bar, f.fill.price) for f in result.fills] == [(1, D(104)), (2, D(107))]


def test_a_limit_order_the_price_never_reaches_stays_open():
    candles = bars((100, 101, 99, 100), (100, 101, 95.01, 100))
    result = run(Scripted({0: [limit("buy", 95)]}), candles)
    assert result.fills == []


def test_a_market_order_fills_at_the_next_open_plus_slippage():
    candles = bars((100, 101, 99, 100), (102, 103, 101, 102))
    buy = OrderRequest(SYMBOL, "buy", "market", "m", amount=D(2))
    (fill,) = run(Scripted({0: [buy]}), candles, slippage=D("0.01")).fills
    assert (fill.bar, fill.fill.price) == (1, D("103.02"))


def test_the_fee_is_charged_in_the_asset_received_like_the_paper_exchange():
    candles = bars((100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 99, 100))
    buy = OrderRequest(SYMBOL, "buy", "market", "b", amount=D(1))
    sell = OrderRequest(SYMBOL, "sell", "market", "s", amount=D("0.5"))
    result = run(Scripted({0: [buy], 1: [sell]}), candles)
    bought, sold = (f.fill for f in result.fills)
    assert (bought.fee, bought.fee_asset) == (D("0.001"), "BTC")
    assert (sold.fee, sold.fee_asset) == (D("0.050"), "USDT")
    assert result.run.balances == {"USDT": D(1000) - 100 + 50 - D("0.05"), "BTC": D("1.499")}
    assert result.stats["fees_paid"] == D("0.15")


def test_an_order_the_balance_cannot_cover_is_rejected_not_filled():
    candles = bars((100, 101, 99, 100), (100, 101, 50, 100))
    result = run(Scripted({0: [limit("buy", 95, amount="11")]}), candles)
    assert result.fills == []
    assert result.run.rejections == [(0, "buy-95", "insufficient balance")]


def test_a_strategy_at_bar_t_sees_candles_up_to_t_and_nothing_later():
    candles = candles_synthetic(50)
    spy = Scripted({}, lookback=5)
    run(spy, candles)
    assert len(spy.seen) == 46
    for decided_at, times, _ in spy.seen:
        assert len(times) == 5
        assert times[-1].timestamp() * 1000 + 60_000 == decided_at.timestamp() * 1000


STRATEGIES = [
    ("sma_crossover", {"fast": 5, "slow": 20, "timeframe": "1m"}),
    ("grid", {"lower": "90", "upper": "110", "levels": 21, "amount": "0.05"}),
    ("dca", {"quote_amount": "20", "interval_minutes": 30, "take_profit_pct": "1"}),
    (
        "market_making",
        {"spread_pct": "0.3", "amount": "0.02", "max_inventory": "2", "refresh_seconds": 600},
    ),
    ("rebalance", {"weights": "BTC:0.6, USDT:0.4", "threshold_pct": "0.5", "interval_minutes": 0}),
    ("rebalance", {"weights": "BTC:0.5, USDT:0.5", "threshold_pct": "0", "interval_minutes": 90}),
]


def fingerprint(result):
    return [(f.bar, f.fill) for f in result.fills], result.stats["final_equity"]


@pytest.mark.parametrize(("slug", "params"), STRATEGIES, ids=lambda v: str(v)[:20])
def test_fast_paths_give_exactly_the_bar_by_bar_result(slug, params):
    candles = candles_synthetic(3000, seed=11, volatility=0.002)
    strategy = strategy_build(slug=slug, symbol=SYMBOL, params=params)
    every_bar = run(strategy, candles, mode="bars", lot_step=D("0.0001"))
    assert len(every_bar.fills) >= 4, "the comparison needs fills to compare"
    for mode in ("events", "auto"):
        fast = run(strategy, candles, mode=mode, lot_step=D("0.0001"))
        assert fingerprint(fast) == fingerprint(every_bar)
        np.testing.assert_array_equal(fast.equity, every_bar.equity)


def recording(strategy, log):
    """Log every decision the strategy takes (time, orders, cancels, state)."""
    decide = strategy.decide

    def wrapper(state, market, open_orders, position, fills=()):
        decision = decide(state, market, open_orders, position, fills)
        log.append((market.time, decision.place, decision.cancel, decision.state))
        return decision

    strategy.decide = wrapper
    return strategy


@pytest.mark.parametrize(("slug", "params"), STRATEGIES, ids=lambda v: str(v)[:20])
def test_changing_future_bars_never_changes_past_decisions(slug, params):
    candles = candles_synthetic(2000, seed=5, volatility=0.002)
    cut = 1200
    rng = np.random.default_rng(99)
    scale = rng.uniform(0.8, 1.25, len(candles) - cut)
    future = {
        name: np.r_[getattr(candles, name)[:cut], np.round(getattr(candles, name)[cut:] * scale, 2)]
        for name in ("open", "high", "low", "close")
    }
    altered = replace(candles, **future)
    cut_time = candles.time[cut] / 1000
    for mode in ("bars", "auto"):
        logs = [], []
        before, after = (
            run(recording(strategy_build(slug=slug, symbol=SYMBOL, params=params), log), c, mode)
            for log, c in zip(logs, (candles, altered), strict=True)
        )
        past = [(f.bar, f.fill) for f in before.fills if f.bar < cut]
        assert past, "the check needs fills before the cut"
        assert [(f.bar, f.fill) for f in after.fills if f.bar < cut] == past
        np.testing.assert_array_equal(before.equity[:cut], after.equity[:cut])
        decided = [entry for entry in logs[0] if entry[0].timestamp() <= cut_time]
        assert [entry for entry in logs[1] if entry[0].timestamp() <= cut_time] == decided
        if mode == "bars":
            assert len(decided) == cut - params.get("slow", 0)


def test_results_report_return_drawdown_fees_and_a_winning_trade():
    candles = bars(
        (100, 100, 100, 100), (100, 100, 100, 100), (90, 90, 90, 90), (110, 110, 110, 110)
    )
    buy = OrderRequest(SYMBOL, "buy", "market", "b", quote_amount=D(1000))
    sell = OrderRequest(SYMBOL, "sell", "market", "s", amount=D("9.99"))
    broker = BrokerConfig(fee_in="quote", lot_step=D("0.01"))
    config = BacktestConfig(initial={"USDT": D(1000)}, broker=broker)
    strategy = Scripted({0: [buy], 2: [sell]})
    result = backtest_run(strategy=strategy, candles=candles, config=config, mode="bars")
    (trade,) = result.trades
    assert (trade.entry_bar, trade.exit_bar, trade.amount) == (1, 3, D("9.99"))
    assert trade.pnl == D("9.99") * 110 * D("0.999") - D("9.99") * 100 * D("1.001")
    stats = result.stats
    assert stats["final_equity"] == D(1000) - D("9.99") * 100 * D("1.001") + (
        D("9.99") * 110 * D("0.999")
    )
    assert stats["win_rate"] == 1.0
    assert stats["trades"] == 1 and stats["fills"] == 2
    assert stats["max_drawdown"] == pytest.approx(-0.1, rel=1e-2)
    assert stats["exposure"] == pytest.approx(0.5)  # bars 1 and 2 of 4 held the coin
    assert stats["total_return"] == pytest.approx(float(stats["final_equity"]) / 1000 - 1)


def test_a_backtest_without_money_or_of_several_symbols_is_refused():
    strategy = strategy_build(
        slug="rebalance",
        symbol=SYMBOL,
        params={"weights": "BTC:0.4, ETH:0.3, USDT:0.3"},
    )
    config = BacktestConfig(initial={"USDT": D(100)})
    with pytest.raises(BacktestError, match="several symbols"):
        backtest_run(strategy=strategy, candles=candles_synthetic(10), config=config)
    grid = strategy_build(slug="grid", symbol=SYMBOL, params={})
    with pytest.raises(BacktestError, match="starting balance"):
        backtest_run(
            strategy=grid, candles=candles_synthetic(10), config=BacktestConfig(initial={})
        )


@pytest.mark.parametrize(
    ("fee_in", "slippage", "lot_step", "cents"),
    [
        ("received", "0", None, True),
        ("quote", "0.0005", "1", True),
        ("quote", "0", "0.01", False),  # unrounded prices take the float path
    ],
)
def test_the_sma_kernel_matches_bar_by_bar_under_every_broker_setting(
    fee_in, slippage, lot_step, cents
):
    candles = candles_synthetic(4000, seed=21, volatility=0.002)
    if not cents:
        candles = replace(candles, close=candles.close * (1 + 1e-7), open=candles.open * 1.0000003)
    strategy = strategy_build(
        slug="sma_crossover", symbol=SYMBOL, params={"fast": 3, "slow": 12, "timeframe": "1m"}
    )
    broker = {"fee_in": fee_in, "slippage": D(slippage), "lot_step": lot_step and D(lot_step)}
    every_bar = run(strategy, candles, mode="bars", **broker)
    fast = run(strategy, candles, mode="auto", **broker)
    assert len(every_bar.fills) > 50
    assert fingerprint(fast) == fingerprint(every_bar)
    assert fast.run.rejections == every_bar.run.rejections
    assert fast.run.balances == every_bar.run.balances


def test_results_serialise_for_storage_and_thin_the_equity_curve_for_charts():
    strategy = strategy_build(slug="sma_crossover", symbol=SYMBOL, params=STRATEGIES[0][1])
    result = run(strategy, candles_synthetic(5000, seed=2, volatility=0.002), mode="auto")
    json.dumps(result.summary(), allow_nan=False)
    json.dumps(result.trades_json())
    points = result.equity_points(max_points=100)
    assert len(points) == 100
    assert points[0] == (int(result.time[0]), float(result.equity[0]))
    assert points[-1] == (int(result.time[-1]), float(result.equity[-1]))


@pytest.mark.parametrize("mode", ["bars", "events", "auto"])
def test_a_backtest_reports_progress_and_stops_when_cancelled(mode):
    from trading.backtest.engine import BacktestCancelled

    candles = candles_synthetic(5_000, seed=4, volatility=0.002)
    slug, params = STRATEGIES[0] if mode == "auto" else STRATEGIES[2]
    strategy = strategy_build(slug=slug, symbol=SYMBOL, params=params)
    config = BacktestConfig(initial={"USDT": D(1000)})
    seen = []
    backtest_run(
        strategy=strategy,
        candles=candles,
        config=config,
        mode=mode,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert len(seen) > 10 and seen == sorted(seen) and seen[-1][1] == 5_000
    with pytest.raises(BacktestCancelled):
        backtest_run(
            strategy=strategy, candles=candles, config=config, mode=mode, cancelled=lambda: True
        )


@pytest.mark.parametrize("mode", ["events", "auto"])
def test_a_backtest_gives_the_same_result_whatever_decimal_context_the_caller_left(mode):
    # Bots and backtests share worker processes; ccxt, called by the order path in the same
    # thread, switches its decimal context to ROUND_HALF_UP and traps Underflow.
    candles = candles_synthetic(2_000, seed=3)
    params = {"timeframe": "1m", "fast": 5, "slow": 60}
    config = BacktestConfig(initial={"USDT": D(10_000)})

    def summary():
        strategy = strategy_build(slug="sma_crossover", symbol=SYMBOL, params=params)
        return backtest_run(strategy=strategy, candles=candles, config=config, mode=mode).summary()

    with decimal.localcontext(decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)):
        stock = summary()
    with decimal.localcontext() as ccxt_left:
        ccxt_left.rounding = decimal.ROUND_HALF_UP
        ccxt_left.traps[decimal.Underflow] = True
        assert summary() == stock
    with decimal.localcontext(decimal.Context(prec=16, rounding=decimal.ROUND_DOWN)):
        assert summary() == stock

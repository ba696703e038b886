"""Each built-in strategy's decisions on scripted prices, as pure functions."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.strategies import (
    Candle,
    Fill,
    MarketSnapshot,
    OpenOrder,
    Position,
    Ticker,
    strategy_build,
)

D = Decimal
SYMBOL = "BTC/USDT"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def market(price, *, at=T0, closes=(), bid=None, ask=None, others=None):
    candles = [
        Candle(at - timedelta(minutes=len(closes) - i), D(c), D(c), D(c), D(c), D(1))
        for i, c in enumerate(closes)
    ]
    tickers = {SYMBOL: Ticker(last=D(price), bid=bid, ask=ask), **(others or {})}
    return MarketSnapshot(time=at, symbol=SYMBOL, candles=candles, tickers=tickers)


def holding(btc="0", usdt="0", **others):
    return Position({"BTC": D(btc), "USDT": D(usdt), **{k: D(v) for k, v in others.items()}})


def fill(ref, tag, side, price, amount, fee="0", fee_asset="USDT"):
    return Fill(ref, tag, SYMBOL, side, D(price), D(amount), D(fee), fee_asset, T0)


def placed(decision):
    return [(o.side, o.type, o.tag, o.price, o.amount, o.quote_amount) for o in decision.place]


def stored(state):
    """States go through JSON between ticks; a strategy must survive that."""
    return json.loads(json.dumps(state))


# -- DCA ---------------------------------------------------------------------------------------


def dca(**params):
    return strategy_build(
        slug="dca", symbol=SYMBOL, params={"quote_amount": "50", "interval_minutes": 60, **params}
    )


def test_dca_buys_the_fixed_quote_amount_at_once_then_once_per_interval():
    strategy = dca()
    first = strategy.decide(strategy.initial_state(), market(100), [], holding(usdt=1000))
    assert placed(first) == [("buy", "market", "buy", None, None, D(50))]
    state = stored(first.state)
    later = strategy.decide(state, market(100, at=T0 + timedelta(minutes=59)), [], holding())
    assert later.place == ()
    due = strategy.decide(state, market(90, at=T0 + timedelta(minutes=60)), [], holding(usdt=950))
    assert placed(due) == [("buy", "market", "buy", None, None, D(50))]


def test_dca_skips_a_buy_it_cannot_pay_for_and_says_so():
    decision = dca().decide(dca().initial_state(), market(100), [], holding(usdt=49))
    assert decision.place == ()
    assert "not enough quote" in decision.notes[0]


def test_dca_takes_profit_on_everything_it_bought_once_the_average_cost_is_beaten():
    strategy = dca(take_profit_pct="10")
    state = stored(strategy.initial_state())
    buys = [
        fill("a", "buy", "buy", "100", "0.5", fee="0.0005", fee_asset="BTC"),
        fill("b", "buy", "buy", "80", "0.5", fee="0.0005", fee_asset="BTC"),
    ]
    # Average cost: 90 quote for 0.999 BTC, so the target is 90 / 0.999 * 1.1 = 99.0990...
    at = T0 + timedelta(minutes=1)
    quiet = strategy.decide(
        {**state, "next_buy": 10**15}, market(99, at=at), [], holding("0.999"), buys
    )
    assert quiet.place == ()
    state = stored(quiet.state)
    sell = strategy.decide(state, market("99.1", at=at), [], holding("0.999"))
    assert placed(sell) == [("sell", "market", "tp", None, D("0.999"), None)]
    pending = [OpenOrder("r", "tp", SYMBOL, "sell", "market", None, D("0.999"))]
    assert strategy.decide(stored(sell.state), market(100, at=at), pending, holding()).place == ()


# -- Grid --------------------------------------------------------------------------------------


def grid(**params):
    base = {"lower": "90", "upper": "110", "levels": 11, "amount": "1"}
    return strategy_build(slug="grid", symbol=SYMBOL, params={**base, **params})


def test_grid_bids_below_and_offers_above_the_price_leaving_the_nearest_level_empty():
    decision = grid().decide(grid().initial_state(), market(100.4), [], holding("2", "1000"))
    assert placed(decision) == [
        ("buy", "limit", "L4", D(98), D(1), None),
        ("buy", "limit", "L3", D(96), D(1), None),
        ("buy", "limit", "L2", D(94), D(1), None),
        ("buy", "limit", "L1", D(92), D(1), None),
        ("buy", "limit", "L0", D(90), D(1), None),
        ("sell", "limit", "L6", D(102), D(1), None),
        ("sell", "limit", "L7", D(104), D(1), None),
    ]  # only 2 BTC: two offers; 470 USDT of bids fit in 1000


def test_grid_offers_one_level_up_what_a_filled_buy_brought_in():
    strategy = grid()
    state = stored(strategy.decide(strategy.initial_state(), market(100), [], holding()).state)
    bought = fill("r1", "L4", "buy", "98", "1", fee="0.001", fee_asset="BTC")
    decision = strategy.decide(state, market(98), [], holding("0.999"), [bought])
    assert placed(decision) == [("sell", "limit", "L5", D(100), D("0.999"), None)]


def test_grid_bids_one_level_down_after_a_sell_fills():
    strategy = grid()
    state = {"started": True, "partial": {}}
    sold = fill("r2", "L7", "sell", "104", "1", fee="0.104")
    decision = strategy.decide(state, market(104), [], holding(usdt="104"), [sold])
    assert placed(decision) == [("buy", "limit", "L6", D(102), D(1), None)]


def test_grid_waits_for_a_partly_filled_order_to_complete_before_answering_it():
    strategy = grid()
    state = {"started": True, "partial": {}}
    open_rest = [OpenOrder("r3", "L4", SYMBOL, "buy", "limit", D(98), D(1), D("0.4"))]
    part = fill("r3", "L4", "buy", "98", "0.4")
    first = strategy.decide(state, market(98), open_rest, holding(), [part])
    assert first.place == ()
    rest = fill("r3", "L4", "buy", "98", "0.6")
    second = strategy.decide(stored(first.state), market(98), [], holding(), [rest])
    assert placed(second) == [("sell", "limit", "L5", D(100), D("1.0"), None)]


def test_grid_parameters_must_describe_a_range():
    with pytest.raises(ValueError, match="above the lowest"):
        grid(lower="110", upper="90")


# -- Rebalance ---------------------------------------------------------------------------------


def rebalance(**params):
    base = {"weights": "BTC:0.5, USDT:0.5", "threshold_pct": "5", "min_trade": "1"}
    return strategy_build(slug="rebalance", symbol=SYMBOL, params={**base, **params})


def test_rebalance_does_nothing_while_the_weights_are_within_the_threshold():
    strategy = rebalance()
    # BTC is 54% of 1000: drift 4 points, under 5.
    assert (
        strategy.decide(strategy.initial_state(), market(540), [], holding("1", "460")).place == ()
    )


def test_rebalance_sells_the_overweight_asset_back_to_its_target():
    strategy = rebalance()
    decision = strategy.decide(strategy.initial_state(), market(600), [], holding("1", "400"))
    # Total 1000, BTC worth 600 against a target of 500: sell 100 quote worth.
    (order,) = decision.place
    assert (order.side, order.type, order.amount) == ("sell", "market", D(100) / D(600))


def test_rebalance_buys_across_several_assets_selling_first():
    strategy = rebalance(weights="BTC:0.25, ETH:0.25, USDT:0.5")
    eth = {"ETH/USDT": Ticker(last=D(100))}
    decision = strategy.decide(
        strategy.initial_state(), market(400, others=eth), [], holding("1", "400", ETH="2")
    )
    # Total 1000: BTC 400 (target 250) sells 150; ETH 200 (target 250) buys 50.
    assert placed(decision) == [
        ("sell", "market", "sell-BTC", None, D("0.375"), None),
        ("buy", "market", "buy-ETH", None, None, D(50)),
    ]


def test_rebalance_on_a_clock_trades_when_due_even_inside_the_threshold():
    strategy = rebalance(threshold_pct="0", interval_minutes=60)
    first = strategy.decide(strategy.initial_state(), market(520), [], holding("1", "480"))
    assert [o.side for o in first.place] == ["sell"]
    state = stored(first.state)
    soon = market(600, at=T0 + timedelta(minutes=30))
    assert strategy.decide(state, soon, [], holding("1", "400")).place == ()


# -- Market making -----------------------------------------------------------------------------


def maker(**params):
    base = {
        "spread_pct": "1",
        "amount": "1",
        "max_inventory": "10",
        "skew_pct": "0.5",
        "refresh_seconds": 60,
    }
    return strategy_build(slug="market_making", symbol=SYMBOL, params={**base, **params})


def test_market_making_quotes_both_sides_around_the_mid_at_target_inventory():
    quote = market(100, bid=D("99.9"), ask=D("100.1"))
    decision = maker().decide(maker().initial_state(), quote, [], holding("5", "1000"))
    assert placed(decision) == [
        ("buy", "limit", "bid", D("99.5"), D(1), None),
        ("sell", "limit", "ask", D("100.5"), D(1), None),
    ]


def test_market_making_leans_its_quotes_down_when_long_and_stops_bidding_at_the_limit():
    decision = maker().decide(maker().initial_state(), market(100), [], holding("10", "1000"))
    # Full inventory: both quotes move 0.5% down, and no bid that would exceed the limit.
    assert placed(decision) == [("sell", "limit", "ask", D("100.0"), D(1), None)]


def test_market_making_requotes_after_a_fill_and_on_its_clock_only():
    strategy = maker()
    first = strategy.decide(strategy.initial_state(), market(100), [], holding("5", "1000"))
    state = stored(first.state)
    resting = [
        OpenOrder("b1", "bid", SYMBOL, "buy", "limit", D("99.5"), D(1)),
        OpenOrder("a1", "ask", SYMBOL, "sell", "limit", D("100.5"), D(1)),
    ]
    soon = market(100, at=T0 + timedelta(seconds=30))
    assert strategy.decide(state, soon, resting, holding("5", "1000")).is_empty
    hit = fill("b1", "bid", "buy", "99.5", "1")
    after = strategy.decide(state, soon, resting[1:], holding("6", "900.5"), [hit])
    assert after.cancel == ("a1",)
    assert [o.tag for o in after.place] == ["bid", "ask"]
    due = strategy.decide(state, market(100, at=T0 + timedelta(seconds=60)), resting, holding())
    assert set(due.cancel) == {"b1", "a1"}


# -- SMA crossover -----------------------------------------------------------------------------


def sma():
    return strategy_build(
        slug="sma_crossover", symbol=SYMBOL, params={"fast": 2, "slow": 3, "timeframe": "1m"}
    )


def test_sma_crossover_buys_with_all_the_quote_when_the_fast_average_crosses_above():
    # Averages before: fast 9.5 < slow 9.67; after: fast 10.5 > slow 10.
    decision = sma().decide({}, market(11, closes=(10, 10, 9, 10, 11)), [], holding(usdt="500"))
    assert placed(decision) == [("buy", "market", "enter", None, None, D(500))]


def test_sma_crossover_sells_everything_when_the_fast_average_crosses_below():
    decision = sma().decide({}, market(9, closes=(10, 10, 11, 10, 9)), [], holding("3", "1"))
    assert placed(decision) == [("sell", "market", "exit", None, D(3), None)]


def test_sma_crossover_holds_when_already_in_the_signalled_position_or_history_is_short():
    up = (10, 10, 9, 10, 11)
    assert sma().decide({}, market(11, closes=up), [], holding("5", "1")).place == ()
    assert sma().decide({}, market(11, closes=up[-3:]), [], holding(usdt="5")).place == ()


@pytest.mark.parametrize(
    ("dip", "buys"),
    [("0.000000003", False), ("0.0000003", True)],
    ids=["gap-5e-11-is-equal", "gap-5e-9-is-below"],
)
def test_sma_crossover_treats_averages_within_a_billionth_as_equal(dip, buys):
    # Previous bar: fast 10 - dip/2 against slow 10 - dip/3, then a clear rise to 11.
    closes = ("10", "10", str(10 - D(dip)), "11")
    decision = sma().decide({}, market(11, closes=closes), [], holding(usdt="100"))
    assert bool(decision.place) is buys


def test_sma_crossover_fast_average_must_be_shorter():
    with pytest.raises(ValueError, match="shorter"):
        strategy_build(slug="sma_crossover", symbol=SYMBOL, params={"fast": 5, "slow": 5})


def test_market_making_centres_on_the_order_book_when_the_engine_has_one():
    from trading.strategies import OrderBook

    book = OrderBook(bids=((D("99"), D(1)),), asks=((D("103"), D(1)),))
    snapshot = market(100)
    snapshot = MarketSnapshot(snapshot.time, SYMBOL, [], snapshot.tickers, book=book)
    decision = maker().decide(maker().initial_state(), snapshot, [], holding("5", "1000"))
    # Mid 101 from the book (the ticker says 100); 1% spread around it.
    assert [o.price for o in decision.place] == [D("100.495"), D("101.505")]

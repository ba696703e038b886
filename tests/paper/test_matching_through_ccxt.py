"""How orders fill: partial fills, IOC/FOK, market orders by cost, and resting-order sweeps."""

from decimal import Decimal as D

import pytest

from paper.clock import clock_read
from paper.models import PaperTrade
from paper.services.controls import clock_advance, price_path, price_set
from paper.services.resting import orders_evaluate_all
from tests.paper.helpers import exact_balances, pin_market, validate_order

pytestmark = pytest.mark.django_db(transaction=True)

BTC = "BTC/USDT"


@pytest.fixture
def trader(paper_binance, paper_key):
    pin_market("BTCUSDT", "50000")
    ex = paper_binance(*paper_key())
    ex.load_markets()
    return ex


def test_a_shallow_trade_through_fills_part_and_a_deeper_one_the_rest(trader):
    order = trader.create_order(BTC, "limit", "buy", 0.01, 49500)

    price_set(symbol="BTCUSDT", price="49499.99")  # one cent through: little liquidity
    partial = trader.fetch_order(order["id"], BTC)
    assert partial["status"] == "open" and partial["info"]["status"] == "PARTIALLY_FILLED"
    assert partial["filled"] == 0.00101
    assert trader.fetch_order(order["id"], BTC)["filled"] == 0.00101  # that minute is used up

    price_set(symbol="BTCUSDT", price="49000")
    done = trader.fetch_order(order["id"], BTC)
    validate_order(trader, done, BTC, "fetchOrder")
    assert done["status"] == "closed" and done["filled"] == 0.01
    trades = trader.fetch_my_trades(BTC)
    assert [t["amount"] for t in trades] == [0.00101, 0.00899]
    final = exact_balances(trader.fetch_balance())
    assert final["USDT"] == (D("9505"), D("0"))
    assert final["BTC"] == (D("0.50999"), D("0"))  # fees 0.00000101 + 0.00000899


def test_ioc_never_rests(trader):
    missed = trader.create_order(BTC, "limit", "buy", 0.01, 49000, {"timeInForce": "IOC"})
    assert missed["status"] == "expired" and missed["filled"] == 0
    ask = trader.fetch_order_book(BTC, 5)["asks"][0][0]
    taken = trader.create_order(BTC, "limit", "buy", 0.001, ask, {"timeInForce": "IOC"})
    assert taken["status"] == "closed" and taken["filled"] == 0.001
    assert trader.fetch_open_orders(BTC) == []
    assert exact_balances(trader.fetch_balance())["USDT"][1] == 0


def test_fok_fills_entirely_or_not_at_all(trader):
    ask = trader.fetch_order_book(BTC, 5)["asks"][0][0]
    refused = trader.create_order(BTC, "limit", "buy", 0.01, ask - 1, {"timeInForce": "FOK"})
    assert refused["status"] == "expired" and refused["filled"] == 0
    assert exact_balances(trader.fetch_balance())["USDT"] == (D("10000"), D("0"))
    filled = trader.create_order(BTC, "limit", "buy", 0.001, ask, {"timeInForce": "FOK"})
    assert filled["status"] == "closed" and filled["filled"] == 0.001
    assert trader.fetch_open_orders(BTC) == []


def test_a_market_buy_by_cost_spends_at_most_the_budget(trader):
    order = trader.create_market_buy_order_with_cost(BTC, 100)
    validate_order(trader, order, BTC)
    assert order["status"] == "closed" and order["cost"] <= 100
    spent = D(order["info"]["cummulativeQuoteQty"])
    bought = D(order["info"]["executedQty"])
    final = exact_balances(trader.fetch_balance())
    assert final["USDT"] == (D("10000") - spent, D("0"))
    assert final["BTC"] == (D("0.5") + bought - bought * D("0.001"), D("0"))


def test_a_market_sell_pays_the_fee_in_the_quote_asset(trader):
    bid = D(str(trader.fetch_order_book(BTC, 5)["bids"][0][0]))
    order = trader.create_order(BTC, "market", "sell", 0.1)
    assert order["status"] == "closed" and D(str(order["average"])) == bid
    proceeds = bid * D("0.1")
    final = exact_balances(trader.fetch_balance())
    assert final["USDT"] == (D("10000") + proceeds - proceeds * D("0.001"), D("0"))
    assert final["BTC"] == (D("0.4"), D("0"))


def test_the_periodic_sweep_fills_resting_orders_once(trader):
    order = trader.create_order(BTC, "limit", "sell", 0.05, 50500)
    price_set(symbol="BTCUSDT", price="51000")
    assert orders_evaluate_all() == 1
    assert orders_evaluate_all() == 0  # applied once, however often it runs
    assert PaperTrade.objects.count() == 1
    filled = trader.fetch_order(order["id"], BTC)
    assert filled["status"] == "closed" and filled["average"] == 50500


def test_a_resting_order_fills_when_the_price_later_walks_through_it(trader):
    order = trader.create_order(BTC, "limit", "buy", 0.01, 48000)
    price_path(symbol="BTCUSDT", points=[(0, "50000"), (10, "47000")])
    assert trader.fetch_order(order["id"], BTC)["status"] == "open"  # still at minute 0
    clock_advance(seconds=10 * 60)
    filled = trader.fetch_order(order["id"], BTC)
    assert filled["status"] == "closed"
    trade = trader.fetch_my_trades(BTC)[0]
    placed_minute = int(order["timestamp"]) // 60_000
    assert placed_minute < trade["timestamp"] // 60_000 <= clock_read().minute

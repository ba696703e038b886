"""The paper exchange trades like Binance Spot, driven only by ccxt over real HTTP."""

import asyncio
from decimal import Decimal as D

import pytest
from django.db import connection

from paper.services.controls import price_set
from tests.paper.helpers import (
    exact_balances,
    pin_market,
    validate_balance,
    validate_market,
    validate_ohlcv,
    validate_order,
    validate_order_book,
    validate_ticker,
    validate_trade,
)

pytestmark = pytest.mark.django_db(transaction=True)

BTC = "BTC/USDT"


def test_a_limit_order_rests_is_amended_fills_and_the_ledger_adds_up(paper_binance, paper_key):
    ex = paper_binance(*paper_key())
    pin_market("BTCUSDT", "50000")

    markets = ex.load_markets()
    assert {"BTC/USDT", "ETH/USDT", "ETH/BTC", "SOL/USDT"} <= set(markets)
    for market in markets.values():
        validate_market(ex, market)
    ticker = ex.fetch_ticker(BTC)
    validate_ticker(ex, ticker, BTC)
    assert ticker["last"] == 50000
    book = ex.fetch_order_book(BTC, 20)
    validate_order_book(ex, book, BTC)
    assert book["bids"][0][0] < 50000 < book["asks"][0][0]
    candles = ex.fetch_ohlcv(BTC, "1m", limit=30)
    assert len(candles) == 30 and candles[-1][4] == 50000
    validate_ohlcv(ex, candles, BTC)

    balance = ex.fetch_balance()
    validate_balance(ex, balance)
    assert exact_balances(balance)["USDT"] == (D("10000"), D("0"))
    assert exact_balances(balance)["BTC"] == (D("0.5"), D("0"))

    order = ex.create_order(BTC, "limit", "buy", 0.01, 49000)
    validate_order(ex, order, BTC)
    assert order["status"] == "open" and order["filled"] == 0
    assert exact_balances(ex.fetch_balance())["USDT"] == (D("9510"), D("490"))

    amended = ex.edit_order(order["id"], BTC, "limit", "buy", 0.01, 49500)
    validate_order(ex, amended, BTC, "editOrder")
    assert amended["id"] != order["id"] and amended["price"] == 49500
    assert ex.fetch_order(order["id"], BTC)["status"] == "canceled"
    assert exact_balances(ex.fetch_balance())["USDT"] == (D("9505"), D("495"))

    price_set(symbol="BTCUSDT", price="49400")  # trades through 49500
    filled = ex.fetch_order(amended["id"], BTC)
    validate_order(ex, filled, BTC, "fetchOrder")
    assert filled["status"] == "closed" and filled["filled"] == 0.01 and filled["average"] == 49500

    trades = ex.fetch_my_trades(BTC)
    assert len(trades) == 1
    validate_trade(ex, trades[0], BTC)
    trade = trades[0]
    assert (trade["order"], trade["side"], trade["takerOrMaker"]) == (amended["id"], "buy", "maker")
    assert trade["fee"] == {"cost": 0.00001, "currency": "BTC"}

    other = ex.create_order(BTC, "limit", "sell", 0.2, 60000)
    assert exact_balances(ex.fetch_balance())["BTC"] == (D("0.30999"), D("0.2"))
    canceled = ex.cancel_order(other["id"], BTC)
    validate_order(ex, canceled, BTC, "cancelOrder")
    assert canceled["status"] == "canceled"
    assert ex.fetch_open_orders(BTC) == []

    final = exact_balances(ex.fetch_balance())
    assert final["USDT"] == (D("9505"), D("0"))  # 10000 - 0.01 * 49500
    assert final["BTC"] == (D("0.50999"), D("0"))  # 0.5 + 0.01 - 0.1% fee in BTC
    assert final["ETH"] == (D("5"), D("0"))


def _in_own_connection(func, **kwargs):
    try:
        return func(**kwargs)
    finally:
        connection.close()  # a worker thread's connection would outlive the test database


def test_the_same_scenario_through_async_ccxt(paper_binance, paper_key):
    api_key, secret = paper_key()
    pin_market("ETHUSDT", "3000")

    async def scenario():
        ex = paper_binance(api_key, secret, asyncio=True)
        try:
            ticker = await ex.fetch_ticker("ETH/USDT")
            validate_ticker(ex, ticker, "ETH/USDT")
            validate_order_book(ex, await ex.fetch_order_book("ETH/USDT"), "ETH/USDT")
            validate_ohlcv(ex, await ex.fetch_ohlcv("ETH/USDT", "15m", limit=10), "ETH/USDT")
            order = await ex.create_order("ETH/USDT", "limit", "sell", 1, 3100)
            amended = await ex.edit_order(order["id"], "ETH/USDT", "limit", "sell", 1, 3050)
            await asyncio.to_thread(_in_own_connection, price_set, symbol="ETHUSDT", price="3060")
            filled = await ex.fetch_order(amended["id"], "ETH/USDT")
            validate_order(ex, filled, "ETH/USDT", "fetchOrder")
            other = await ex.create_order("ETH/USDT", "limit", "buy", 0.5, 2000)
            await ex.cancel_order(other["id"], "ETH/USDT")
            return filled, await ex.fetch_open_orders("ETH/USDT"), await ex.fetch_balance()
        finally:
            await ex.close()

    filled, still_open, balance = asyncio.run(scenario())
    assert filled["status"] == "closed" and filled["average"] == 3050
    assert still_open == []
    final = exact_balances(balance)
    assert final["ETH"] == (D("4"), D("0"))
    assert final["USDT"] == (D("13046.95"), D("0"))  # 10000 + 3050 - 0.1% fee in USDT


def test_a_market_order_walks_the_book_and_pays_the_taker_fee(paper_binance, paper_key):
    ex = paper_binance(*paper_key())
    pin_market("BTCUSDT", "50000")
    best_ask = D(str(ex.fetch_order_book(BTC, 5)["asks"][0][0]))

    order = ex.create_order(BTC, "market", "buy", 0.01)

    validate_order(ex, order, BTC)
    assert order["status"] == "closed" and D(str(order["average"])) == best_ask
    final = exact_balances(ex.fetch_balance())
    assert final["USDT"] == (D("10000") - best_ask * D("0.01"), D("0"))
    assert final["BTC"] == (D("0.50999"), D("0"))


def test_signatures_cover_the_raw_percent_encoded_body(paper_binance, paper_key):
    ex = paper_binance(*paper_key())
    pin_market("BTCUSDT", "50000")
    order = ex.create_order(BTC, "limit", "buy", 0.001, 40000, {"clientOrderId": "a b/c+d"})
    assert order["clientOrderId"] == "a b/c+d"
    found = ex.fetch_order(None, BTC, {"clientOrderId": "a b/c+d"})
    assert found["id"] == order["id"]
    assert ex.cancel_order(None, BTC, {"clientOrderId": "a b/c+d"})["status"] == "canceled"

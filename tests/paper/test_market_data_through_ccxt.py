"""Public market data and order listings parse cleanly in ccxt and pass its validators."""

import pytest
from ccxt.test.exchange.base.test_last_price import test_last_price as check_last_price
from ccxt.test.exchange.base.test_trade import test_trade as check_trade

from tests.paper.helpers import STRICT, pin_market, validate_order, validate_ticker

pytestmark = pytest.mark.django_db(transaction=True)

BTC = "BTC/USDT"


def test_every_ticker_list_endpoint(paper_binance):
    pin_market("BTCUSDT", "50000")
    ex = paper_binance()
    tickers = ex.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    assert set(tickers) == {"BTC/USDT", "ETH/USDT"}
    for symbol, ticker in tickers.items():
        validate_ticker(ex, ticker, symbol)
    assert set(ex.fetch_tickers()) == {"BTC/USDT", "ETH/USDT", "ETH/BTC", "SOL/USDT"}
    bids_asks = ex.fetch_bids_asks([BTC])[BTC]
    assert bids_asks["bid"] < 50000 < bids_asks["ask"]
    last_prices = ex.fetch_last_prices()
    assert last_prices[BTC]["price"] == 50000
    for symbol, entry in last_prices.items():
        check_last_price(ex, STRICT, "fetchLastPrices", entry, symbol)
    assert abs(ex.fetch_time() - ex.milliseconds()) < 5000


def test_public_trades_follow_the_candles(paper_binance):
    pin_market("BTCUSDT", "50000")
    ex = paper_binance()
    trades = ex.fetch_trades(BTC, limit=50)
    assert len(trades) == 50 and trades[-1]["price"] == 50000
    for trade in trades:
        check_trade(ex, STRICT, "fetchTrades", trade, BTC, ex.milliseconds(), True)
    raw = ex.public_get_trades({"symbol": "BTCUSDT", "limit": 3})
    assert len(raw) == 3 and raw[-1]["price"] == "50000.00000000"


def test_order_history_cancel_all_and_paging(paper_binance, paper_key):
    pin_market("BTCUSDT", "50000")
    ex = paper_binance(*paper_key())
    placed = [ex.create_order(BTC, "limit", "buy", 0.001, 40000 + i) for i in range(3)]
    canceled = ex.cancel_all_orders(BTC)
    assert sorted(o["id"] for o in canceled) == sorted(o["id"] for o in placed)
    assert all(o["status"] == "canceled" for o in canceled)
    history = ex.fetch_orders(BTC)
    assert [o["id"] for o in history] == [o["id"] for o in placed]
    for order in history:
        validate_order(ex, order, BTC, "fetchOrders")
    assert [o["id"] for o in ex.fetch_orders(BTC, limit=2)] == [o["id"] for o in placed[1:]]
    newer = ex.private_get_allorders({"symbol": "BTCUSDT", "orderId": placed[1]["id"]})
    assert [str(o["orderId"]) for o in newer] == [o["id"] for o in placed[1:]]
    assert ex.fetch_canceled_orders(BTC)[0]["status"] == "canceled"
    assert ex.fetch_open_orders(BTC) == []

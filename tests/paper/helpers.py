"""Helpers for paper-exchange tests: exact balances and ccxt's own validators."""

from decimal import Decimal

from ccxt.test.exchange.base.test_balance import test_balance
from ccxt.test.exchange.base.test_market import test_market
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv
from ccxt.test.exchange.base.test_order import test_order
from ccxt.test.exchange.base.test_order_book import test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker
from ccxt.test.exchange.base.test_trade import test_trade

from paper.services.controls import clock_freeze, price_set

STRICT: dict = {}


def exact_balances(balance: dict) -> dict[str, tuple[Decimal, Decimal]]:
    """(free, locked) per asset as the exchange sent them (ccxt's info), to the last unit."""
    return {
        b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in balance["info"]["balances"]
    }


def pin_market(symbol: str = "BTCUSDT", price: str = "50000") -> None:
    """Freeze the market clock and pin a price, so books and fills are exact."""
    clock_freeze()
    price_set(symbol=symbol, price=price)


def validate_market(ex, market):
    test_market(ex, STRICT, "loadMarkets", market)


def validate_ticker(ex, ticker, symbol):
    test_ticker(ex, STRICT, "fetchTicker", ticker, symbol)


def validate_order_book(ex, book, symbol):
    test_order_book(ex, STRICT, "fetchOrderBook", book, symbol)


def validate_ohlcv(ex, candles, symbol):
    for candle in candles:
        test_ohlcv(ex, STRICT, "fetchOHLCV", candle, symbol, ex.milliseconds())


def validate_balance(ex, balance):
    test_balance(ex, STRICT, "fetchBalance", balance)


def validate_order(ex, order, symbol, method="createOrder"):
    test_order(ex, STRICT, method, order, symbol, ex.milliseconds())


def validate_trade(ex, trade, symbol):
    test_trade(ex, STRICT, "fetchMyTrades", trade, symbol, ex.milliseconds(), False)

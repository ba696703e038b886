"""Market data for the pages, fetched in the worker through the connector and stored.

Pages read these rows and never reach an exchange in a request: the market page and the
overview queue `market_refresh` / `prices_refresh` and poll. Public data is stored per exchange
(not per key), so one key's refresh serves every user of that exchange.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from trading.exchange.connect import client_for_key
from trading.exchange.types import to_ms
from trading.key_queries import keys_without_secrets
from trading.models import Balance, Candle, MarketInfo, MarketPrice, OrderBookSnapshot

TIMEFRAMES = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
CANDLE_LIMIT = 500
BOOK_DEPTH = 20
MAX_PRICED_ASSETS = 40
STABLE_QUOTES = ("USDT", "USDC", "BUSD", "USD", "EUR")


def _decimals_from_precision(value) -> int | None:
    # ccxt 4 reports a tick size (0.01 -> 2 decimals) for nearly every exchange.
    if value is None:
        return None
    tick = Decimal(str(value))
    if tick <= 0:
        return None
    if tick >= 1:
        return 0
    return max(-tick.normalize().as_tuple().exponent, 0)


def _fraction(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def market_info_store(*, exchange: str, market: dict) -> MarketInfo:
    """Store one ccxt market's precision, fees and minimum amount."""
    precision = market.get("precision") or {}
    limits = (market.get("limits") or {}).get("amount") or {}
    row, _ = MarketInfo.objects.update_or_create(
        exchange=exchange,
        symbol=market["symbol"],
        defaults={
            "base": market.get("base") or market["symbol"].split("/")[0],
            "quote": market.get("quote") or market["symbol"].split("/")[-1],
            "price_decimals": _decimals_from_precision(precision.get("price")),
            "amount_decimals": _decimals_from_precision(precision.get("amount")),
            "maker_fee": _fraction(market.get("maker")),
            "taker_fee": _fraction(market.get("taker")),
            "min_amount": _fraction(limits.get("min")),
            "updated_at": timezone.now(),
        },
    )
    return row


def _store_price(exchange: str, ticker) -> None:
    MarketPrice.objects.update_or_create(
        exchange=exchange,
        symbol=ticker.symbol,
        defaults={
            "last": ticker.last,
            "bid": ticker.bid,
            "ask": ticker.ask,
            "fetched_at": timezone.now(),
        },
    )


def _store_candles(exchange: str, symbol: str, timeframe: str, candles) -> int:
    # One statement: insert new bars, overwrite the still-open last bar stored before.
    Candle.objects.bulk_create(
        [
            Candle(
                exchange=exchange,
                symbol=symbol,
                timeframe=timeframe,
                opened_at=c.opened_at,
                open=c.open,
                high=c.high,
                low=c.low,
                close=c.close,
                volume=c.volume,
            )
            for c in candles
        ],
        update_conflicts=True,
        unique_fields=["exchange", "symbol", "timeframe", "opened_at"],
        update_fields=["open", "high", "low", "close", "volume"],
        batch_size=500,
    )
    return len(candles)


def market_refresh(*, key_id, symbol: str, timeframe: str = "1h") -> None:
    """Fetch one symbol's market rules, ticker, order book and new candles; store them."""
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"unsupported timeframe {timeframe!r}")
    key = keys_without_secrets().get(pk=key_id)
    client = client_for_key(key)
    market = client.markets().get(symbol)
    if market is not None:
        market_info_store(exchange=key.exchange, market=market)
    _store_price(key.exchange, client.fetch_ticker(symbol))
    book = client.fetch_order_book(symbol, BOOK_DEPTH)
    OrderBookSnapshot.objects.update_or_create(
        exchange=key.exchange,
        symbol=symbol,
        defaults={
            "bids": [[str(p), str(q)] for p, q in book.bids],
            "asks": [[str(p), str(q)] for p, q in book.asks],
            "fetched_at": timezone.now(),
        },
    )
    last = (
        Candle.objects.filter(exchange=key.exchange, symbol=symbol, timeframe=timeframe)
        .order_by("-opened_at")
        .values_list("opened_at", flat=True)
        .first()
    )
    # Re-read the newest stored bar: it was probably still open when stored.
    since = last or timezone.now() - timedelta(seconds=TIMEFRAMES[timeframe] * CANDLE_LIMIT)
    candles = client.fetch_ohlcv(symbol, timeframe, to_ms(since), CANDLE_LIMIT)
    _store_candles(key.exchange, symbol, timeframe, candles)


def prices_refresh(*, key_id, quote: str = "USDT") -> int:
    """Fetch the tickers that value this key's balances in `quote`; return how many were stored."""
    key = keys_without_secrets().get(pk=key_id)
    assets = list(
        Balance.objects.filter(key=key).exclude(asset=quote).values_list("asset", flat=True)
    )
    if not assets:
        return 0
    client = client_for_key(key)
    markets = client.markets()
    stored = 0
    for asset in assets[:MAX_PRICED_ASSETS]:
        for symbol in (f"{asset}/{quote}", f"{quote}/{asset}"):
            if symbol in markets:
                _store_price(key.exchange, client.fetch_ticker(symbol))
                market_info_store(exchange=key.exchange, market=markets[symbol])
                stored += 1
                break
    return stored

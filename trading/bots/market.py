"""Market data for ticks, fetched once per (exchange, symbol) per window and shared via the cache.

A thousand bots on one symbol cost one ticker, one book and one candle request per window,
not a thousand: the first tick in a window fetches and stores; the others read the cache.
A short cache lock makes concurrent first ticks wait for the fetch instead of repeating it.
Within one batch of ticks a `MarketData` keeps what it read, so the batch reads each value
from the cache once, not once per bot (a cache read costs more than a dry-run decision).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache

from trading.exchange import types as ex
from trading.strategies.types import Candle, MarketSnapshot, OrderBook, Ticker

_MISSING = object()
CANDLE_LIMITS = (100, 500, 1000)


def _window() -> int:
    return int(time.time() // settings.BOTS_MARKET_DATA_SECONDS)


def _cache_key(name: str) -> str:
    return f"bots:md:{name}:{_window()}"


def shared(name: str, fetch: Callable[[], object]):
    """Return the cached value `name` for the current window, fetching it at most once."""
    return _shared(_cache_key(name), fetch)


def _shared(key: str, fetch: Callable[[], object]):
    ttl = max(int(settings.BOTS_MARKET_DATA_SECONDS * 3), 2)
    value = cache.get(key, _MISSING)
    if value is not _MISSING:
        return value
    if not cache.add(key + ":lock", 1, timeout=5):
        # Someone else is fetching: wait briefly for their result rather than ask again.
        for _ in range(20):
            time.sleep(0.05)
            value = cache.get(key, _MISSING)
            if value is not _MISSING:
                return value
    try:
        value = fetch()
        cache.set(key, value, timeout=ttl)
    finally:
        cache.delete(key + ":lock")
    return value


class MarketData:
    """The shared market data of one batch of ticks: each value read from the cache once.

    Values are kept under their windowed cache key, so a batch that runs into the next window
    reads the new window's data. It also keeps one exchange client per key for the batch.
    Live only as long as one batch: nothing here grows with the number of bots a worker runs.
    """

    def __init__(self):
        self._values: dict[object, object] = {}
        self._clients: dict[object, object] = {}

    def get(self, name: str, fetch: Callable[[], object]):
        """Return the shared value `name` for the current window (see `shared`)."""
        key = _cache_key(name)
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            value = self._values[key] = _shared(key, fetch)
        return value

    def memo(self, key: tuple, compute: Callable[[], object]):
        """Return `compute()` once per batch for `key` (derived values, e.g. closed candles)."""
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            value = self._values[key] = compute()
        return value

    def client(self, key_id, build: Callable[[], object]):
        """Return the batch's exchange client for this key, building it on first use."""
        client = self._clients.get(key_id)
        if client is None:
            client = self._clients[key_id] = build()
        return client


def _ticker(t: ex.Ticker) -> tuple[Ticker, datetime | None]:
    last = t.last if t.last is not None else (t.bid or t.ask)
    if last is None:
        raise ValueError(f"the exchange has no price for {t.symbol}")
    return Ticker(last=last, bid=t.bid, ask=t.ask), t.timestamp


def _closed(candles: list[ex.Candle], seconds: int, now: datetime) -> tuple[Candle, ...]:
    step = timedelta(seconds=seconds)
    return tuple(
        Candle(c.opened_at, c.open, c.high, c.low, c.close, c.volume)
        for c in candles
        if c.opened_at + step <= now
    )


def market_snapshot(
    *, exchange: str, client_factory, strategy, now: datetime, data: MarketData | None = None
) -> MarketSnapshot:
    """Build the strategy's view of the market from shared, windowed exchange data.

    The snapshot's time is the exchange's time of the ticker (falling back to `now`).

    `client_factory()` returns an ExchangeClient; it is only called on a cache miss.
    `data` is the batch's MarketData (a fresh one when the tick runs alone).
    """
    data = data or MarketData()
    client = None

    def get_client():
        nonlocal client
        if client is None:
            client = client_factory()
        return client

    quotes = {
        symbol: data.get(
            f"{exchange}:{symbol}:ticker",
            lambda symbol=symbol: _ticker(get_client().fetch_ticker(symbol)),
        )
        for symbol in strategy.symbols()
    }
    tickers = {symbol: ticker for symbol, (ticker, _) in quotes.items()}
    symbol = strategy.symbol
    # The market's own time (the exchange's clock) decides which bars are closed and what
    # "now" is for the strategy; the worker's clock is only the fallback.
    now = quotes[symbol][1] or now
    candles: tuple[Candle, ...] = ()
    if strategy.lookback() > 1:
        need = strategy.lookback() + 1
        limit = next((n for n in CANDLE_LIMITS if n >= need), CANDLE_LIMITS[-1])
        tf = strategy.timeframe
        name = f"{exchange}:{symbol}:ohlcv:{tf}:{limit}"
        raw = data.get(name, lambda: get_client().fetch_ohlcv(symbol, tf, limit=limit))
        seconds = strategy.timeframe_seconds
        # Keyed by the raw list itself (held by `data`, so its id is not reused): the bots of
        # a batch that read the same window's candles share one conversion.
        candles = data.memo((name, id(raw), seconds, now), lambda: _closed(raw, seconds, now))
    book = data.get(
        f"{exchange}:{symbol}:book", lambda: _book(get_client().fetch_order_book(symbol))
    )
    return MarketSnapshot(time=now, symbol=symbol, candles=candles, tickers=tickers, book=book)


def _book(book: ex.OrderBook) -> OrderBook:
    return OrderBook(bids=tuple(book.bids[:10]), asks=tuple(book.asks[:10]))


def key_balances(*, key_id, client_factory, data: MarketData | None = None) -> dict[str, Decimal]:
    """The key's total balance per asset, shared by the key's bots within one window."""
    return (data or MarketData()).get(
        f"key:{key_id}:balances",
        lambda: {b.asset: b.total for b in client_factory().fetch_balances()},
    )

"""Historical candles through ccxt: a public client and `fetch_ohlcv` paged over a time range.

Candles are public data, so downloads use a client without credentials even for an exchange
the user has a key for: nothing is decrypted and the key cannot be misused by a download.
The paper exchange is built like every other exchange (its URL is PAPER_EXCHANGE_URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import ccxt

from trading.exchange.ccxt_build import build_ccxt
from trading.exchange.client import ExchangeClient, Scopes
from trading.exchange.types import to_ms

PAGE_LIMIT = 1000  # Binance's largest klines page; other exchanges cap it themselves


@dataclass(frozen=True)
class OhlcvPage:
    """One page: rows [time_ms, open, high, low, close, volume] (floats), and where to go next."""

    rows: list[list[float]]
    next_ms: int


def public_client(exchange_id: str) -> ExchangeClient:
    """Return a client with no credentials, for an exchange's public market data."""
    ex = build_ccxt(exchange_id, api_key="", secret="")
    return ExchangeClient(ex, exchange_id=exchange_id, scopes=Scopes(read=False, trade=False))


def timeframe_ms(timeframe: str) -> int:
    """Length of one candle of a ccxt timeframe ("1m", "4h", "1d", ...) in milliseconds."""
    return int(ccxt.Exchange.parse_timeframe(timeframe)) * 1000


def ohlcv_pages(
    client: ExchangeClient,
    *,
    symbol: str,
    timeframe: str,
    start_ms: int,
    end_ms: int,
    limit: int = PAGE_LIMIT,
) -> Iterator[OhlcvPage]:
    """Yield the candles whose open time is in [start_ms, end_ms), page by page, oldest first.

    Each request asks for `limit` candles from a cursor (`since`); the next request starts one
    bar after the last candle received. It stops at `end_ms`, or when the exchange has nothing
    more (an empty page, or a page that does not move the cursor forward).
    Raises the connector's documented errors (RateLimited, ExchangeUnavailable, ...).
    """
    step = timeframe_ms(timeframe)
    cursor = start_ms
    while cursor < end_ms:
        candles = client.fetch_ohlcv(symbol, timeframe, since_ms=cursor, limit=limit)
        times = [to_ms(c.opened_at) for c in candles]
        if not candles or times[-1] < cursor:
            return
        rows = [
            [t, float(c.open), float(c.high), float(c.low), float(c.close), float(c.volume)]
            for t, c in zip(times, candles, strict=True)
            if cursor <= t < end_ms
        ]
        cursor = times[-1] + step
        yield OhlcvPage(rows=rows, next_ms=min(cursor, end_ms))

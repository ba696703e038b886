"""Market data as the exchange serves it: the simulator plus pinned prices, at one instant."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice

from django.conf import settings

from paper import market
from paper.clock import MINUTE_MS, Now
from paper.errors import PaperError
from paper.models import PriceAnchor

INTERVALS = {
    "1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120,
    "4h": 240, "6h": 360, "8h": 480, "12h": 720, "1d": 1440,
}  # fmt: skip
DAY = 1440


def spec_for(symbol: str | None) -> market.SymbolSpec:
    """Return a symbol's spec or raise Binance's invalid-symbol error."""
    spec = market.SYMBOLS.get(symbol or "")
    if spec is None:
        raise PaperError.invalid_symbol()
    return spec


def fmt(value: Decimal, places: int = 8) -> str:
    """Format an amount the way Binance does: fixed decimals, as a string."""
    return f"{value:.{places}f}"


@dataclass
class Feed:
    """One symbol's market at one instant."""

    spec: market.SymbolSpec
    seed: int
    anchors: market.Anchors
    now: Now

    @classmethod
    def load(cls, symbol: str, now: Now) -> "Feed":
        spec = spec_for(symbol)
        pins = []
        if settings.PAPER_TEST_CONTROLS:  # only test controls pin prices
            pins = list(
                PriceAnchor.objects.filter(symbol=spec.symbol).values_list("minute", "price")
            )
        seed = settings.PAPER_SEED
        return cls(spec, seed, market.Anchors.build(spec, seed, pins), now)

    # --- prices --------------------------------------------------------------------------------

    @property
    def minute(self) -> int:
        return self.now.minute

    def close_ticks(self, minute: int | None = None) -> int:
        minute = self.minute if minute is None else minute
        return market.close_ticks(self.spec, self.seed, minute, self.anchors)

    def price(self) -> Decimal:
        """Return the current trade price."""
        return self.spec.price(self.close_ticks())

    def candle(self, first: int, last: int) -> market.Candle:
        return market.aggregate(self.spec, self.seed, first, min(last, self.minute), self.anchors)

    def minute_candle(self, minute: int) -> market.Candle:
        return market.minute_candle(self.spec, self.seed, minute, self.anchors)

    def hour_low_high(self, first_minute: int):
        return market.hour_low_high(self.spec, self.seed, first_minute, self.anchors)

    def history_start(self) -> int:
        """First minute with candles: PAPER_HISTORY_DAYS before today (UTC midnight)."""
        today = self.minute - self.minute % DAY
        return today - settings.PAPER_HISTORY_DAYS * DAY

    # --- book ----------------------------------------------------------------------------------

    def best_bid_ask(self) -> tuple[Decimal, Decimal]:
        bid, ask = market.best_bid_ask(self.spec, self.close_ticks())
        return self.spec.price(bid), self.spec.price(ask)

    def levels(self, side: str):
        """Yield (price, qty) Decimals of "bids" or "asks", best first."""
        mid = self.close_ticks()
        for price, qty in market.book_levels(self.spec, self.seed, self.minute, mid, side):
            yield self.spec.price(price), self.spec.qty(qty)

    def depth(self, limit: int) -> dict:
        def side(name):
            return [[fmt(p, 8), fmt(q, 8)] for p, q in islice(self.levels(name), limit)]

        return {
            "lastUpdateId": self.minute * 1000 + len(self.anchors.minutes),
            "bids": side("bids"),
            "asks": side("asks"),
            "T": self.now.market_ms,
        }

    # --- klines and tickers --------------------------------------------------------------------

    def kline_window(self, interval: int, start_ms, end_ms, limit: int) -> range:
        """Return the open minutes of the candles to serve, as Binance pages them."""
        first = -(-self.history_start() // interval) * interval
        last = self.minute - self.minute % interval
        if end_ms is not None:
            last = min(last, (end_ms // MINUTE_MS) // interval * interval)
        if start_ms is not None:
            start = -(-start_ms // (interval * MINUTE_MS)) * interval
            start = max(start, first)
            return range(start, min(last, start + (limit - 1) * interval) + 1, interval)
        start = max(first, last - (limit - 1) * interval)
        return range(start, last + 1, interval)

    def kline(self, open_minute: int, interval: int) -> list:
        c = self.candle(open_minute, open_minute + interval - 1)
        spec = self.spec
        quote = market.quote_volume(spec, c)
        volume = spec.qty(c.volume)
        return [
            open_minute * MINUTE_MS,
            fmt(spec.price(c.open)),
            fmt(spec.price(c.high)),
            fmt(spec.price(c.low)),
            fmt(spec.price(c.close)),
            fmt(volume),
            (open_minute + interval) * MINUTE_MS - 1,
            fmt(quote),
            c.count,
            fmt((volume / 2).quantize(spec.step)),
            fmt((quote / 2).quantize(market.EIGHT_DP)),
            "0",
        ]

    def ticker_24hr(self) -> dict:
        first = max(self.history_start(), self.minute - DAY + 1)
        c = self.candle(first, self.minute)
        spec = self.spec
        open_, last = spec.price(c.open), spec.price(c.close)
        volume, quote = spec.qty(c.volume), market.quote_volume(spec, c)
        bid, ask = self.best_bid_ask()
        bid_qty = next(self.levels("bids"))[1]
        ask_qty = next(self.levels("asks"))[1]
        change = last - open_
        vwap = (quote / volume).quantize(spec.tick, rounding=ROUND_HALF_UP) if volume else last
        return {
            "symbol": spec.symbol,
            "priceChange": fmt(change),
            "priceChangePercent": fmt(change / open_ * 100, 3),
            "weightedAvgPrice": fmt(vwap),
            "prevClosePrice": fmt(spec.price(self.close_ticks(first - 1))),
            "lastPrice": fmt(last),
            "lastQty": fmt(spec.qty(max(1, c.volume // max(1, c.count)))),
            "bidPrice": fmt(bid),
            "bidQty": fmt(bid_qty),
            "askPrice": fmt(ask),
            "askQty": fmt(ask_qty),
            "openPrice": fmt(open_),
            "highPrice": fmt(spec.price(c.high)),
            "lowPrice": fmt(spec.price(c.low)),
            "volume": fmt(volume),
            "quoteVolume": fmt(quote),
            "openTime": first * MINUTE_MS,
            "closeTime": self.now.market_ms,
            "firstId": (first - market.EPOCH_MINUTE) * 1000,
            "lastId": (self.minute - market.EPOCH_MINUTE) * 1000 + 999,
            "count": c.count,
        }

    def book_ticker(self) -> dict:
        (bid, bid_qty), (ask, ask_qty) = next(self.levels("bids")), next(self.levels("asks"))
        return {
            "symbol": self.spec.symbol,
            "bidPrice": fmt(bid),
            "bidQty": fmt(bid_qty),
            "askPrice": fmt(ask),
            "askQty": fmt(ask_qty),
        }

    def recent_trades(self, limit: int) -> list[dict]:
        """Synthetic public trades: one per minute at that minute's price, oldest first."""
        first = max(self.history_start(), self.minute - limit + 1)
        trades = []
        for minute in range(first, self.minute + 1):
            c = self.minute_candle(minute)
            qty = self.spec.qty(max(1, c.volume // c.count))
            price = self.spec.price(c.close)
            trades.append(
                {
                    "id": (minute - market.EPOCH_MINUTE) * 1000,
                    "price": fmt(price),
                    "qty": fmt(qty),
                    "quoteQty": fmt(price * qty),
                    "time": minute * MINUTE_MS,
                    "isBuyerMaker": c.close < c.open,
                    "isBestMatch": True,
                }
            )
        return trades

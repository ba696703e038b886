"""The simulated market is deterministic, continuous, and its candles add up at every interval."""

from decimal import Decimal as D

import pytest

from paper import market
from paper.clock import clock_read
from paper.feed import Feed
from paper.services.controls import clock_freeze, price_set
from tests.paper.helpers import validate_ohlcv

BTC = market.SYMBOLS["BTCUSDT"]
NOW = 29_923_700  # a minute in 2026
DAY = 1440


def test_the_same_seed_gives_the_same_candles_and_another_seed_does_not():
    first = [market.minute_candle(BTC, 7, m) for m in range(NOW - 100, NOW)]
    again = [market.minute_candle(BTC, 7, m) for m in range(NOW - 100, NOW)]
    other = [market.minute_candle(BTC, 8, m) for m in range(NOW - 100, NOW)]
    assert first == again
    assert first != other


def test_each_candle_opens_at_the_previous_close_across_blocks_and_hours():
    candles = [market.minute_candle(BTC, 7, m) for m in range(NOW - 300, NOW)]
    for previous, candle in zip(candles, candles[1:], strict=False):
        assert candle.open == previous.close
        assert candle.low <= min(candle.open, candle.close) <= max(candle.open, candle.close)
        assert max(candle.open, candle.close) <= candle.high


def test_a_minute_long_ago_costs_no_more_than_a_recent_one():
    assert market.minute_candle(BTC, 7, NOW - 5 * 365 * DAY).close > 0  # no history generated


def test_an_hour_is_the_merge_of_its_minutes():
    hour = NOW - NOW % 60 - 120
    merged = market.aggregate(BTC, 7, hour, hour + 59)
    minutes = [market.minute_candle(BTC, 7, m) for m in range(hour, hour + 60)]
    assert merged.open == minutes[0].open and merged.close == minutes[-1].close
    assert merged.high == max(c.high for c in minutes)
    assert merged.low == min(c.low for c in minutes)
    assert merged.volume == sum(c.volume for c in minutes)
    assert merged.quote_units == sum(c.quote_units for c in minutes)


def test_a_pinned_price_holds_and_the_walk_continues_from_it():
    anchors = market.Anchors.build(BTC, 7, [(NOW, D("50000"))])
    assert market.close_ticks(BTC, 7, NOW, anchors) * BTC.tick == D("50000")
    unpinned = market.close_ticks(BTC, 7, NOW - 1, anchors)
    assert unpinned == market.close_ticks(BTC, 7, NOW - 1)  # history before the pin is kept
    ratio_pinned = market.close_ticks(BTC, 7, NOW + 30, anchors) / 5_000_000
    ratio_walk = market.walk_close(BTC, 7, NOW + 30) / market.walk_close(BTC, 7, NOW)
    assert ratio_pinned == pytest.approx(ratio_walk, rel=1e-6)


def test_the_book_is_strictly_ordered_around_the_price():
    mid = market.close_ticks(BTC, 7, NOW)
    bids = [
        p for p, _ in zip(market.book_levels(BTC, 7, NOW, mid, "bids"), range(50), strict=False)
    ]
    asks = [
        p for p, _ in zip(market.book_levels(BTC, 7, NOW, mid, "asks"), range(50), strict=False)
    ]
    assert bids[0][0] < mid < asks[0][0]
    assert all(a[0] > b[0] for a, b in zip(bids, bids[1:], strict=False))
    assert all(a[0] < b[0] for a, b in zip(asks, asks[1:], strict=False))


@pytest.mark.django_db
def test_klines_page_like_binance():
    clock_freeze()
    feed = Feed.load("BTCUSDT", clock_read())
    latest = feed.kline_window(60, None, None, 500)
    assert len(latest) == 500 and latest[-1] == feed.minute - feed.minute % 60
    start_ms = (feed.minute - 3 * DAY) * 60_000 + 1  # mid-minute: the next candle opens first
    page = feed.kline_window(1, start_ms, None, 1000)
    assert page[0] == feed.minute - 3 * DAY + 1 and len(page) == 1000
    until = feed.kline_window(15, None, (feed.minute - DAY) * 60_000, 10)
    assert until[-1] * 60_000 <= (feed.minute - DAY) * 60_000 and len(until) == 10
    assert feed.kline_window(1440, None, None, 1000)[0] >= feed.history_start()


@pytest.mark.django_db(transaction=True)
def test_candles_through_ccxt_reach_back_90_days_and_agree_across_intervals(paper_binance):
    clock_freeze()
    price_set(symbol="BTCUSDT", price="50000")
    ex = paper_binance(timeout=60_000)  # the first daily candles of a process cost seconds
    now = ex.milliseconds()
    days = ex.fetch_ohlcv("BTC/USDT", "1d", limit=1000)
    assert len(days) >= 91
    validate_ohlcv(ex, days, "BTC/USDT")
    since = now - 90 * 86_400_000
    old = ex.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=5)
    assert old[0][0] == -(-since // 60_000) * 60_000 and len(old) == 5

    hours = ex.fetch_ohlcv("BTC/USDT", "1h", since=now - 5 * 3_600_000, limit=2)
    minutes = ex.fetch_ohlcv("BTC/USDT", "1m", since=hours[0][0], limit=120)
    for i, hour in enumerate(hours):
        part = minutes[i * 60 : (i + 1) * 60]
        assert hour[1] == part[0][1] and hour[4] == part[-1][4]
        assert hour[2] == max(c[2] for c in part) and hour[3] == min(c[3] for c in part)
        assert hour[5] == pytest.approx(sum(c[5] for c in part), abs=1e-8)

    first = ex.fetch_ohlcv("BTC/USDT", "5m", since=since, limit=1000)
    second = ex.fetch_ohlcv("BTC/USDT", "5m", since=first[-1][0] + 1, limit=1000)
    assert second[0][0] == first[-1][0] + 300_000  # pages join without gap or overlap
    assert ex.fetch_ohlcv("BTC/USDT", "5m", since=since, limit=1000) == first  # reproducible


@pytest.mark.django_db
def test_the_24h_ticker_is_the_last_1440_one_minute_candles():
    clock_freeze()
    feed = Feed.load("SOLUSDT", clock_read())
    ticker = feed.ticker_24hr()
    window = [feed.minute_candle(m) for m in range(feed.minute - DAY + 1, feed.minute + 1)]
    tick, step = feed.spec.tick, feed.spec.step
    assert D(ticker["openPrice"]) == window[0].open * tick
    assert D(ticker["lastPrice"]) == window[-1].close * tick
    assert D(ticker["highPrice"]) == max(c.high for c in window) * tick
    assert D(ticker["lowPrice"]) == min(c.low for c in window) * tick
    assert D(ticker["volume"]) == sum(c.volume for c in window) * step
    assert D(ticker["bidPrice"]) < D(ticker["lastPrice"]) < D(ticker["askPrice"])


def test_eth_btc_stays_within_a_percent_of_eth_usdt_over_btc_usdt():
    eth, btc, cross = (market.SYMBOLS[s] for s in ("ETHUSDT", "BTCUSDT", "ETHBTC"))
    for minute in range(NOW - 365 * DAY, NOW, 7 * DAY + 13):
        implied = market.walk_close(eth, 7, minute) / market.walk_close(btc, 7, minute)
        assert market.walk_close(cross, 7, minute) == pytest.approx(implied, rel=0.01)

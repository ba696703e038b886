"""Candle downloads through ccxt from the live paper exchange: paged, resumable, no duplicates."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.trading.backtest_helpers import candle_root  # noqa: F401 - fixture
from trading.backtest import candles_load, candles_series_info
from trading.backtest_models import CandleDownload
from trading.exchange.candles import ohlcv_pages, public_client
from trading.exchange.types import from_ms, to_ms
from trading.services.candle_downloads import (
    candle_download_execute,
    candles_download,
    download_windows,
)

HOUR = 3_600_000
pytestmark = pytest.mark.slow  # a live paper exchange server


@pytest.fixture
def paper(settings, paper_url, candle_root):  # noqa: F811
    settings.PAPER_EXCHANGE_URL = paper_url
    return paper_url


def hours_ago(n):
    now = to_ms(timezone.now())
    return now // HOUR * HOUR - n * HOUR


def hours_ago_dt(n):
    return from_ms(hours_ago(n))


def download(since_ms, until_ms, **kwargs):
    return candles_download(
        exchange="paper",
        symbol="BTC/USDT",
        timeframe="1h",
        since_ms=since_ms,
        until_ms=until_ms,
        limit=10,
        **kwargs,
    )


def stored():
    return candles_load(exchange="paper", symbol="BTC/USDT", timeframe="1h")


def test_pages_of_fetch_ohlcv_cover_the_range_once_oldest_first(paper):
    start, end = hours_ago(30), hours_ago(5)
    pages = list(
        ohlcv_pages(
            public_client("paper"),
            symbol="BTC/USDT",
            timeframe="1h",
            start_ms=start,
            end_ms=end,
            limit=10,
        )
    )
    times = [row[0] for page in pages for row in page.rows]
    assert times == list(range(start, end, HOUR))
    assert len(pages) == 3
    assert pages[-1].next_ms == end


def test_a_download_stores_every_closed_candle_of_the_period(paper):
    report = download(hours_ago(48), hours_ago(0) + HOUR)
    candles = stored()
    # The bar still open now is not stored: the range ends at the last closed bar.
    assert candles.time.tolist() == list(range(hours_ago(48), hours_ago(0), HOUR))
    assert (report.added, report.duplicates, report.total, report.gaps) == (48, 0, 48, [])
    assert report.pages == 5
    assert np.all(candles.high >= candles.low) and np.all(candles.close > 0)


def test_a_resumed_download_fetches_only_what_is_missing_and_stores_no_duplicate(paper):
    download(hours_ago(20), hours_ago(10))
    first = candles_series_info(exchange="paper", symbol="BTC/USDT", timeframe="1h")
    assert first["count"] == 10

    report = download(hours_ago(40), hours_ago(0))
    times = stored().time.tolist()
    assert times == list(range(hours_ago(40), hours_ago(0), HOUR))
    assert len(set(times)) == len(times)
    # Only the 20 hours before and the 10 after the stored range were requested.
    assert (report.fetched, report.added, report.duplicates) == (30, 30, 0)
    assert report.pages == 2 + 1

    again = download(hours_ago(40), hours_ago(0))
    assert (again.pages, again.fetched, again.added) == (0, 0, 0)


def test_gaps_in_the_store_are_fetched_again_and_reported_until_filled():
    info = {"count": 10, "first_ms": 0, "last_ms": 20 * HOUR, "gaps": [[5 * HOUR, 3]]}
    windows = download_windows(info=info, since_ms=-2 * HOUR, until_ms=25 * HOUR, step=HOUR)
    assert windows == [(-2 * HOUR, 0), (5 * HOUR, 8 * HOUR), (21 * HOUR, 25 * HOUR)]
    assert download_windows(info=None, since_ms=0, until_ms=HOUR, step=HOUR) == [(0, HOUR)]


def test_a_download_job_records_progress_counts_and_can_be_cancelled(paper, alice):
    job = CandleDownload.objects.create(
        user=alice,
        exchange="paper",
        symbol="BTC/USDT",
        timeframe="1h",
        since=hours_ago_dt(50),
        until=hours_ago_dt(0),
    )
    done = candle_download_execute(download_id=job.pk, limit=10)
    assert (done.status, done.progress, done.added, done.total) == ("done", 100, 50, 50)
    assert done.pages == 5 and done.gaps == []
    assert candle_download_execute(download_id=job.pk) is None  # runs once

    stopped = CandleDownload.objects.create(
        user=alice,
        exchange="paper",
        symbol="ETH/USDT",
        timeframe="1h",
        since=hours_ago_dt(50),
        until=hours_ago_dt(0),
        cancel_requested=True,
    )
    stopped = candle_download_execute(download_id=stopped.pk, limit=10)
    assert stopped.status == "cancelled"
    assert stopped.added == 0


def test_an_unknown_market_fails_the_job_with_a_message(paper, alice):
    job = CandleDownload.objects.create(
        user=alice,
        exchange="paper",
        symbol="NOPE/USDT",
        timeframe="1h",
        since=hours_ago_dt(5),
        until=hours_ago_dt(0),
    )
    job = candle_download_execute(download_id=job.pk)
    assert job.status == "failed"
    assert "NOPE/USDT" in job.error and "lists this market" in job.error


def test_the_command_downloads_and_resumes(paper):
    out = StringIO()
    call_command(
        "download_candles", "paper", "btc/usdt", "1h", "--days", "2", "--page-size", "20",
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    assert "48 new" in out.getvalue() and "gaps: none" in out.getvalue()
    out = StringIO()
    call_command("download_candles", "paper", "BTC/USDT", "1h", "--days", "3", stdout=out)
    assert "24 new" in out.getvalue() and "72 stored in all" in out.getvalue()
    assert len(stored()) == 72

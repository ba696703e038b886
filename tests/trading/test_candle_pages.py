"""Candle pages: queue a download from the paper exchange or a keyed one, watch it, cancel it."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.trading.backtest_helpers import candle_root, make_runner, store_synthetic  # noqa: F401
from trading.backtest_models import CandleDownload


@pytest.fixture
def runner(client, alice, candle_root):  # noqa: F811
    alice = make_runner(alice)
    client.force_login(alice)
    return alice


def test_a_download_is_queued_and_its_page_polls_a_progress_bar(
    client, runner, django_capture_on_commit_callbacks
):
    form = {"exchange": "paper", "symbol": "eth/usdt", "timeframe": "1h", "days": "7"}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("trading:candles"), form)
    download = CandleDownload.objects.get(user=runner)
    assert response["Location"] == reverse("trading:candle_download_detail", args=[download.id])
    assert (download.symbol, download.status, len(queued)) == ("ETH/USDT", "queued", 1)
    assert (download.until - download.since).days == 7
    assert AuditEvent.objects.filter(event_type="candledownload.queue").count() == 1

    page = client.get(response["Location"]).content.decode()
    status_url = reverse("trading:candle_download_status", args=[download.id])
    assert f'hx-get="{status_url}"' in page and "<progress" in page
    assert "Cancel download" in page


def test_cancelling_a_queued_download_through_htmx_redirects_the_page(client, runner):
    client.post(
        reverse("trading:candles"),
        {"exchange": "paper", "symbol": "BTC/USDT", "timeframe": "1h", "days": "2"},
    )
    download = CandleDownload.objects.get(user=runner)
    url = reverse("trading:candle_download_cancel", args=[download.id])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("trading:candle_download_detail", args=[download.id])
    download.refresh_from_db()
    assert download.status == "cancelled"


def test_only_the_paper_exchange_and_the_users_own_keyed_exchanges_are_offered(client, runner):
    response = client.post(
        reverse("trading:candles"),
        {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h", "days": "2"},
    )
    assert b"Select a valid choice" in response.content
    assert not CandleDownload.objects.exists()


def test_three_unfinished_downloads_are_the_most_a_user_queues(client, runner):
    form = {"exchange": "paper", "symbol": "BTC/USDT", "timeframe": "1h", "days": "2"}
    for _ in range(3):
        assert client.post(reverse("trading:candles"), form).status_code == 302
    response = client.post(reverse("trading:candles"), form)
    assert b"already have 3 downloads" in response.content


def test_stored_series_are_listed_with_a_link_to_backtest_them(client, runner):
    store_synthetic(100)
    page = client.get(reverse("trading:candles")).content.decode()
    assert "BTC/USDT" in page and ">100<" in page
    assert "series=paper%7CBTC%2FUSDT%7C1m" in page

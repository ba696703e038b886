"""The market page: chart data with the user's fills, order book, and the order ticket's review."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from tests.trading.factories import (
    CandleFactory,
    FillFactory,
    MarketInfoFactory,
    MarketPriceFactory,
    OrderBookFactory,
)
from tests.trading.pages import login, make_viewer
from trading.market_tasks import market_refresh_task
from trading.models import OrderIntent
from trading.tasks import order_submit_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def published(monkeypatch):
    sent = {"orders": [], "market": []}
    monkeypatch.setattr(
        order_submit_task,
        "apply_async",
        lambda args=None, kwargs=None, **o: sent["orders"].append(args),
    )
    monkeypatch.setattr(
        market_refresh_task,
        "apply_async",
        lambda args=None, kwargs=None, **o: sent["market"].append(args),
    )
    return sent


@pytest.fixture
def market(alice_key):
    MarketInfoFactory(taker_fee=Decimal("0.002"))
    MarketPriceFactory(last=Decimal("30000"))
    OrderBookFactory()
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for i in range(3):
        CandleFactory(opened_at=hour - timedelta(hours=2 - i))
    return hour


def url(key, tail=""):
    return f"/market/{key.pk}/BTC-USDT/{tail}"


def test_the_page_shows_the_book_and_a_ticket_and_queues_a_refresh_without_calling_the_exchange(
    trader, alice_key, market, published, exchange_port, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = login(trader).get(url(alice_key)).content.decode()
    assert "<h1>BTC/USDT</h1>" in page
    assert "29,990.00" in page and "30,010.00" in page  # best bid and ask, 2 decimals
    assert "Review order" in page and "lightweight-charts.standalone.production.js" in page
    assert "<script>" not in page and " style=" not in page  # strict CSP: static JS only
    assert published["market"] == [(str(alice_key.pk), "BTC/USDT", "1h")]
    assert exchange_port == []  # nothing reached an exchange during the request


def test_a_refresh_is_queued_at_most_once_per_interval(
    trader, alice_key, market, published, django_capture_on_commit_callbacks
):
    client = login(trader)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            client.get(url(alice_key, "book/"))
    assert len(published["market"]) == 1


def test_candles_json_marks_the_users_fills_on_their_bars(trader, alice_key, market):
    FillFactory(
        key=alice_key,
        side="sell",
        price=Decimal("30050"),
        executed_at=market - timedelta(minutes=50),
    )
    data = login(trader).get(url(alice_key, "candles.json")).json()
    assert [c["time"] for c in data["candles"]] == [
        int((market - timedelta(hours=h)).timestamp()) for h in (2, 1, 0)
    ]
    assert data["candles"][0]["close"] == 30050.0 and data["price_decimals"] == 2
    assert data["fills"] == [
        {
            "time": int((market - timedelta(hours=1)).timestamp()),
            "side": "sell",
            "price": "30050.000000000000000000",
            "amount": "0.010000000000000000",
        }
    ]


def test_review_shows_cost_and_fee_before_anything_is_placed(trader, alice_key, market):
    response = login(trader).post(
        url(alice_key, "order/review/"),
        {"side": "buy", "type": "limit", "amount": "0.1", "price": "25000"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "2,500.00" in page  # cost
    assert "0.20%" in page and "5.00" in page  # the market's taker fee
    assert "2,505.00" in page  # total to pay
    assert not OrderIntent.objects.exists()


def test_a_market_order_is_estimated_from_the_best_ask(trader, alice_key, market):
    page = (
        login(trader)
        .post(url(alice_key, "order/review/"), {"side": "buy", "type": "market", "amount": "1"})
        .content.decode()
    )
    assert "30,010.00" in page and "the best ask" in page
    assert "fills at whatever the book offers" in page


def test_confirming_places_the_order_through_the_order_path(
    trader, alice_key, market, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(trader).post(
            url(alice_key, "order/confirm/"),
            {"side": "sell", "type": "limit", "amount": "0.01", "price": "31000"},
        )
    assert response.status_code == 302 and response.url == f"/orders/?key={alice_key.pk}"
    intent = OrderIntent.objects.get()
    assert (intent.side, intent.type, intent.symbol) == ("sell", "limit", "BTC/USDT")
    assert published["orders"] == [(str(intent.pk),)]


def test_an_order_over_the_limit_is_refused_with_the_reason_and_audited(
    trader, alice_key, market, published
):
    response = login(trader).post(
        url(alice_key, "order/confirm/"),
        {"side": "buy", "type": "limit", "amount": "1", "price": "30000"},
    )
    assert response.status_code == 400
    assert "above your limit of 10000" in response.content.decode()
    assert not OrderIntent.objects.exists() and published["orders"] == []
    assert AuditEvent.objects.filter(event_type="order.refused").count() == 1


def test_an_invalid_ticket_is_shown_again_with_errors(trader, alice_key, market):
    response = login(trader).post(
        url(alice_key, "order/review/"), {"side": "buy", "type": "limit", "amount": "0.1"}
    )
    assert response.status_code == 400
    assert "A limit order needs a price" in response.content.decode()


def test_a_viewer_sees_the_market_but_cannot_review_or_place(bob, published):
    viewer, key = make_viewer(bob)
    client = login(viewer)
    page = client.get(url(key)).content.decode()
    assert "Review order" not in page and "view markets but not trade" in page
    order = {"side": "buy", "type": "market", "amount": "1"}
    assert client.post(url(key, "order/review/"), order).status_code == 403
    assert client.post(url(key, "order/confirm/"), order).status_code == 403
    assert not OrderIntent.objects.exists() and published["orders"] == []


def test_an_outsider_gets_404_on_every_market_url_and_it_is_audited(
    alice_key, market, outsider, published
):
    charlie, _ = outsider
    client = login(charlie)
    order = {"side": "buy", "type": "market", "amount": "1"}
    for tail in ("", "candles.json", "book/"):
        assert client.get(url(alice_key, tail)).status_code == 404
    for tail in ("order/review/", "order/confirm/"):
        assert client.post(url(alice_key, tail), order).status_code == 404
    assert client.get(f"/market/?key={alice_key.pk}&symbol=BTC/USDT").status_code == 404
    assert (
        AuditEvent.objects.filter(
            event_type="access.denied", actor_id=charlie.pk, target_id=str(alice_key.pk)
        ).count()
        == 6
    )
    assert not OrderIntent.objects.exists() and published == {"orders": [], "market": []}


def test_picking_a_key_and_symbol_opens_the_market_page(trader, alice_key):
    client = login(trader)
    assert "Open a market" in client.get("/market/").content.decode()
    response = client.get(f"/market/?key={alice_key.pk}&symbol=eth/usdt")
    assert response.url == f"/market/{alice_key.pk}/ETH-USDT/"
    assert client.get(f"/market/{alice_key.pk}/not-a-symbol!/").status_code == 404

"""The dashboard end to end: pages -> services -> Celery (eager) -> ccxt -> HTTP -> paper exchange.

No mocks: a trader connects a paper key on the keys page, presses Refresh, sees the paper
balances on the overview, opens the market page, places a limit order through the ticket's
review step, sees it among the open orders, and cancels it; a market order's fill appears in
the fills page's live partial.
"""

import re

import pytest

from keytrade.celery import app
from paper.models import PaperOrder
from tests.paper.helpers import pin_market
from tests.trading.pages import login
from trading.models import Order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def eager_celery():
    # The worker's code runs inline, in the request, exactly as the worker would run it.
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def live(trader, paper_url, paper_key, settings, eager_celery):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=trader)
    return {"api_key": api_key, "secret": secret}


def connect_on_the_keys_page(client, credentials) -> str:
    response = client.post(
        "/keys/connect/",
        {
            "exchange": "paper",
            "label": "Paper main",
            "scope_read": "on",
            "scope_trade": "on",
            "rotation_period_days": "90",
            "ip_whitelist": "127.0.0.1",
            **credentials,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response.url.rstrip("/").rsplit("/", 1)[-1]


def test_connect_sync_overview_order_ticket_open_orders_cancel(trader, live):
    client = login(trader)
    key_id = connect_on_the_keys_page(client, live)

    assert client.post("/overview/refresh/").status_code == 302
    overview = client.get("/").content.decode()
    assert "Paper main" in overview
    assert "10,000.00" in overview  # the paper account's starting USDT
    assert "0.50000000" in overview  # and BTC, valued at the pinned 50,000
    assert "25,000.00" in overview

    market = f"/market/{key_id}/BTC-USDT/"
    assert client.get(market).status_code == 200  # queues (here: runs) the market refresh
    book = client.get(f"{market}book/").content.decode()
    assert "Bids (buyers)" in book and "No bids." not in book
    assert client.get(f"{market}candles.json").json()["candles"]

    ticket = {"side": "buy", "type": "limit", "amount": "0.01", "price": "45000"}
    review = client.post(f"{market}order/review/", ticket).content.decode()
    assert "450.00" in review and "Confirm" in review
    assert not PaperOrder.objects.exists()  # nothing is sent before the confirmation
    assert client.post(f"{market}order/confirm/", ticket).status_code == 302

    order = Order.objects.get(status=Order.Status.OPEN)
    assert PaperOrder.objects.count() == 1  # sent once, after the confirmation
    orders = client.get("/orders/").content.decode()
    assert f'id="order-{order.pk}"' in orders and "45,000.00" in orders

    assert "Cancel this order?" in client.get(f"/orders/{order.pk}/cancel/").content.decode()
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert "No open orders." in client.get("/orders/live/").content.decode()


def test_a_market_orders_fill_appears_in_the_live_fills(trader, live):
    client = login(trader)
    key_id = connect_on_the_keys_page(client, live)
    before = client.get("/fills/live/").content.decode()
    assert "No fills." in before
    ticket = {"side": "buy", "type": "market", "amount": "0.002"}
    assert client.post(f"/market/{key_id}/BTC-USDT/order/confirm/", ticket).status_code == 302
    after = client.get("/fills/live/").content.decode()
    assert len(re.findall(r'id="fill-\d+"', after)) >= 1
    assert "0.00200" in after and "Buy" in after

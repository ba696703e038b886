"""Open orders: filter by key and symbol, amend, cancel one, cancel all after confirming."""

from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from tests.trading.conftest import paper_key_for
from tests.trading.factories import OrderFactory
from tests.trading.pages import login, make_viewer
from trading.models import Order, OrderIntent
from trading.tasks import order_submit_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def published(monkeypatch):
    sent = []
    monkeypatch.setattr(
        order_submit_task, "apply_async", lambda args=None, kwargs=None, **opts: sent.append(args)
    )
    return sent


@pytest.fixture
def orders(trader, alice_key):
    second = paper_key_for(trader, api_key="SECONDkey0123456789abcdef")
    return {
        "btc": OrderFactory(key=alice_key, symbol="BTC/USDT", price=Decimal("20000")),
        "eth": OrderFactory(key=alice_key, symbol="ETH/USDT", side="sell", price=Decimal("2500")),
        "other_key": OrderFactory(key=second, symbol="BTC/USDT", price=Decimal("19000")),
        "closed": OrderFactory(key=alice_key, status=Order.Status.CLOSED, price=Decimal("18000")),
    }


def test_open_orders_list_and_filters(trader, alice_key, orders):
    client = login(trader)
    page = client.get("/orders/").content.decode()
    assert all(str(orders[k].pk) in page for k in ("btc", "eth", "other_key"))
    assert str(orders["closed"].pk) not in page
    by_key = client.get(f"/orders/?key={alice_key.pk}").content.decode()
    assert str(orders["other_key"].pk) not in by_key and str(orders["btc"].pk) in by_key
    by_symbol = client.get("/orders/?symbol=eth-usdt").content.decode()
    assert str(orders["eth"].pk) in by_symbol and str(orders["btc"].pk) not in by_symbol
    live = client.get("/orders/live/?symbol=ETH/USDT").content.decode()
    assert str(orders["eth"].pk) in live and "<html" not in live


def test_cancelling_one_order_confirms_first_then_queues_a_cancel(
    trader, orders, published, django_capture_on_commit_callbacks
):
    client = login(trader)
    url = f"/orders/{orders['btc'].pk}/cancel/"
    confirm = client.get(url)
    assert "Cancel this order?" in confirm.content.decode()
    assert not OrderIntent.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    intent = OrderIntent.objects.get()
    assert (intent.kind, intent.target_order_id) == (OrderIntent.Kind.CANCEL, orders["btc"].pk)
    assert published == [(str(intent.pk),)]


def test_amending_a_limit_order_queues_an_amend_with_the_new_price(trader, orders):
    client = login(trader)
    url = f"/orders/{orders['eth'].pk}/amend/"
    assert 'value="2500' in client.get(url).content.decode()
    response = client.post(url, {"price": "2600", "amount": ""})
    assert response.status_code == 302
    intent = OrderIntent.objects.get()
    assert intent.kind == OrderIntent.Kind.AMEND
    assert (intent.price, intent.amount) == (Decimal("2600"), Decimal("0.01"))


def test_an_amend_above_the_limit_is_refused_with_the_reason(trader, orders):
    response = login(trader).post(f"/orders/{orders['eth'].pk}/amend/", {"price": "2000000"})
    assert response.status_code == 400
    assert "above your limit" in response.content.decode()
    assert not OrderIntent.objects.exists()


def test_cancel_all_shows_what_it_will_cancel_then_cancels_only_those(trader, alice_key, orders):
    client = login(trader)
    url = f"/orders/cancel-all/?key={alice_key.pk}"
    confirm = client.get(url).content.decode()
    assert "Cancel 2 open orders?" in confirm
    assert not OrderIntent.objects.exists()
    assert client.post(url).status_code == 302
    targets = set(OrderIntent.objects.values_list("target_order_id", flat=True))
    assert targets == {orders["btc"].pk, orders["eth"].pk}
    assert set(OrderIntent.objects.values_list("kind", flat=True)) == {"cancel"}


def test_cancel_all_without_filters_covers_every_key(trader, orders):
    assert login(trader).post("/orders/cancel-all/").status_code == 302
    assert OrderIntent.objects.filter(kind="cancel").count() == 3


def test_a_viewer_sees_orders_but_every_trading_action_is_forbidden(bob, published):
    viewer, key = make_viewer(bob)
    order = OrderFactory(key=key)
    client = login(viewer)
    page = client.get("/orders/").content.decode()
    assert str(order.pk) in page and "Cancel all" not in page and "Amend" not in page
    for url in (f"/orders/{order.pk}/cancel/", f"/orders/{order.pk}/amend/", "/orders/cancel-all/"):
        assert client.get(url).status_code == 403
        assert client.post(url, {"price": "1"}).status_code == 403
    assert not OrderIntent.objects.exists() and published == []


def test_an_outsider_gets_404_on_every_order_action_and_it_is_audited(orders, outsider, published):
    charlie, _ = outsider
    client = login(charlie)
    target = orders["btc"]
    for url in (f"/orders/{target.pk}/cancel/", f"/orders/{target.pk}/amend/"):
        assert client.get(url).status_code == 404
        assert client.post(url, {"price": "1"}).status_code == 404
    assert client.get(f"/orders/?key={target.key_id}").status_code == 404
    assert client.post(f"/orders/cancel-all/?key={target.key_id}").status_code == 404
    assert str(target.pk) not in client.get("/orders/").content.decode()
    denied = AuditEvent.objects.filter(event_type="access.denied", actor_id=charlie.pk)
    assert denied.filter(target_id=str(target.pk)).count() == 4
    assert denied.filter(target_id=str(target.key_id)).count() == 2
    assert not OrderIntent.objects.exists() and published == []

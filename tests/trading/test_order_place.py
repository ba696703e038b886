"""Placing an order records an intent and queues it; refusals happen before any request."""

from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from tests.trading.conftest import paper_key_for
from trading.models import AccountLimits, OrderIntent
from trading.services.limits import limits_update
from trading.services.orders import OrderRefused, order_place
from trading.tasks import order_submit_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(trader):
    return paper_key_for(trader)


@pytest.fixture
def published(monkeypatch):
    """Messages the order task would publish to the broker (ids only, checked below)."""
    sent = []
    monkeypatch.setattr(
        order_submit_task,
        "apply_async",
        lambda args=None, kwargs=None, **opts: sent.append((args, kwargs)),
    )
    return sent


def place(user, key, **overrides):
    spec = {
        "symbol": "btc/usdt",
        "side": "buy",
        "type": "limit",
        "amount": "0.01",
        "price": "20000",
    }
    spec.update(overrides)
    return order_place(user=user, key=key, **spec)


def test_a_limit_order_becomes_a_queued_intent_with_its_own_client_id(
    trader, key, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        intent = place(trader, key)
    assert intent.status == OrderIntent.Status.NEW
    assert (intent.symbol, intent.amount, intent.price) == ("BTC/USDT", Decimal("0.01"), 20000)
    assert intent.client_order_id.startswith("kt") and len(intent.client_order_id) <= 32
    assert published == [((str(intent.pk),), {})]
    event = AuditEvent.objects.get(event_type="order.new")
    assert event.target_id == str(intent.pk) and event.actor_id == trader.pk


def test_nothing_is_queued_when_the_transaction_rolls_back(
    trader, key, published, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            place(trader, key)
            raise RuntimeError("the caller failed after placing")
    assert callbacks == [] and published == []
    assert not OrderIntent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"side": "hold"}, "buy or sell"),
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "lots"}, "not a number"),
        ({"price": None}, "needs a price"),
        ({"symbol": "BTCUSDT"}, "BASE/QUOTE"),
        ({"amount": "0.0000000000000000001"}, "18 decimal places"),
        ({"type": "market", "price": None, "amount": "1" * 19}, "18 digits before the decimal"),
    ],
)
def test_bad_orders_are_refused_with_a_reason(trader, key, published, overrides, reason):
    with pytest.raises(OrderRefused, match=reason):
        place(trader, key, **overrides)
    assert not OrderIntent.objects.exists()
    assert published == []


def test_a_viewer_cannot_trade(bob, published):
    from django.contrib.auth.models import Group

    from tests.trading.conftest import make_trader

    key = paper_key_for(make_trader(bob))  # connected while bob was a trader
    bob.user_permissions.clear()  # then became a viewer
    bob.groups.set([Group.objects.get(name="viewer")])
    viewer = type(bob).objects.get(pk=bob.pk)
    with pytest.raises(OrderRefused, match="cannot trade|not trade"):
        place(viewer, key)
    assert (
        AuditEvent.objects.filter(
            event_type="order.refused", outcome=AuditEvent.Outcome.DENIED
        ).count()
        == 1
    )


def test_someone_elses_key_is_refused(trader, charlie, published):
    from tests.trading.conftest import make_trader

    other = paper_key_for(make_trader(charlie), api_key="OTHERkey0123456789abcdef")
    with pytest.raises(OrderRefused):
        place(trader, other)
    assert published == []


def test_a_read_only_key_cannot_trade(trader, published):
    key = paper_key_for(trader, scope_trade=False)
    with pytest.raises(OrderRefused, match="trade scope"):
        place(trader, key)


def test_limits_refuse_before_any_request(trader, key, published, exchange_port):
    limits_update(
        user=trader,
        max_order_notional=Decimal("100"),
        max_orders_per_minute=None,
        allowed_symbols=["BTC/USDT"],
    )
    with pytest.raises(OrderRefused, match="above your limit of 100"):
        place(trader, key, amount="0.01", price="20000")
    with pytest.raises(OrderRefused, match="ETH/USDT is not in your allowed symbols"):
        place(trader, key, symbol="ETH/USDT", amount="0.001", price="2000")
    refused = AuditEvent.objects.filter(event_type="order.refused")
    assert refused.count() == 2
    assert "above your limit" in refused.order_by("seq").first().detail["reason"]
    assert not OrderIntent.objects.exists()
    assert published == [] and exchange_port == []


def test_the_eleventh_order_in_a_minute_is_refused(trader, key, published):
    for _ in range(10):
        place(trader, key, amount="0.001")
    with pytest.raises(OrderRefused) as caught:
        place(trader, key, amount="0.001")
    assert caught.value.rate_limited
    assert OrderIntent.objects.count() == 10


def test_users_may_only_tighten_the_admins_ceiling(trader):
    AccountLimits.objects.create(
        user=trader, ceiling_max_order_notional=Decimal("500"), ceiling_allowed_symbols=["BTC/USDT"]
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        limits_update(
            user=trader,
            max_order_notional=Decimal("600"),
            max_orders_per_minute=None,
            allowed_symbols=["ETH/USDT"],
        )
    assert set(caught.value.message_dict) == {"max_order_notional", "allowed_symbols"}
    limits_update(
        user=trader, max_order_notional=Decimal("50"), max_orders_per_minute=3, allowed_symbols=[]
    )
    with pytest.raises(OrderRefused, match="above your limit of 50"):
        place(
            trader, paper_key_for(trader, api_key="ANOTHERkey0123456789abc"), amount="1", price="60"
        )

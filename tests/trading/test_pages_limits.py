"""Account limits: a trader tightens their own limits; the admin's ceiling cannot be exceeded."""

from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from tests.trading.pages import login, make_viewer
from trading.models import AccountLimits
from trading.services.limits import limits_effective

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_limits_in_force_and_the_ceiling(trader):
    AccountLimits.objects.create(
        user=trader,
        ceiling_max_order_notional=Decimal("5000"),
        ceiling_allowed_symbols=["BTC/USDT", "ETH/USDT"],
    )
    page = login(trader).get("/limits/").content.decode()
    assert '<td class="num" id="limit-notional">5,000.00</td>' in page
    assert "BTC/USDT, ETH/USDT" in page


def test_a_trader_tightens_their_limits_and_the_change_is_audited(trader):
    response = login(trader).post(
        "/limits/",
        {
            "max_order_notional": "250",
            "max_orders_per_minute": "3",
            "allowed_symbols": "btc/usdt, eth-usdt",
        },
    )
    assert response.status_code == 302
    limits = limits_effective(user=trader)
    assert limits.max_order_notional == Decimal("250") and limits.max_orders_per_minute == 3
    assert limits.allowed_symbols == {"BTC/USDT", "ETH/USDT"}
    event = AuditEvent.objects.get(event_type="limits.changed")
    assert event.actor_id == trader.pk and event.detail["max_order_notional"] == "250"


def test_going_above_the_ceiling_is_a_clear_form_error(trader):
    AccountLimits.objects.create(
        user=trader,
        ceiling_max_order_notional=Decimal("500"),
        ceiling_max_orders_per_minute=5,
        ceiling_allowed_symbols=["BTC/USDT"],
    )
    response = login(trader).post(
        "/limits/",
        {"max_order_notional": "600", "max_orders_per_minute": "6", "allowed_symbols": "ETH/USDT"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "The most you may set is 500." in page and "The most you may set is 5" in page
    assert "Only symbols your administrator allows: BTC/USDT" in page
    assert AccountLimits.objects.get(user=trader).max_order_notional is None
    assert not AuditEvent.objects.filter(event_type="limits.changed").exists()


def test_a_malformed_symbol_is_rejected(trader):
    response = login(trader).post("/limits/", {"allowed_symbols": "BTCUSDT"})
    assert response.status_code == 400 and "is not BASE/QUOTE" in response.content.decode()


def test_a_viewer_sees_limits_but_cannot_change_them(bob):
    viewer, _ = make_viewer(bob)
    client = login(viewer)
    page = client.get("/limits/").content.decode()
    assert "Save my limits" not in page
    assert client.post("/limits/", {"max_order_notional": "1"}).status_code == 403
    assert not AccountLimits.objects.filter(user=viewer).exists()

"""The overview: total value, balances per key and asset, open orders, today's fills, warnings."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import ExchangeKey
from tests.trading.factories import (
    BalanceFactory,
    FillFactory,
    MarketPriceFactory,
    OrderFactory,
)
from tests.trading.pages import login, make_viewer

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(alice_key):
    BalanceFactory(key=alice_key, asset="USDT", free=Decimal("1000"), used=Decimal("250"))
    BalanceFactory(key=alice_key, asset="BTC", free=Decimal("0.5"))
    BalanceFactory(key=alice_key, asset="DOGE", free=Decimal("100"))  # no price stored
    MarketPriceFactory(symbol="BTC/USDT", last=Decimal("30000"))
    MarketPriceFactory(symbol="USDT/EUR", last=Decimal("0.9"))
    return alice_key


def test_root_is_the_overview_for_a_logged_in_user(client, trader):
    assert client.get("/").status_code == 302  # anonymous: to the login page
    response = login(trader).get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "trading/overview.html"


def test_total_value_counts_every_priced_balance_in_the_chosen_quote(trader, funded):
    page = login(trader).get("/").content.decode()
    # 1,250 USDT + 0.5 BTC x 30,000 = 16,250.00 USDT; DOGE has no price and is named.
    assert "16,250.00 USDT" in page
    assert "Not counted (no stored price in USDT): DOGE" in page
    assert "0.50000000" in page  # BTC amount with 8 decimals, right-aligned cell
    assert '<td class="num">1,250.00</td>' in page


def test_total_value_in_another_quote_uses_that_quotes_prices(trader, funded):
    page = login(trader).get("/?quote=EUR").content.decode()
    # Only USDT is priced in EUR (through USDT/EUR): 1,250 x 0.9.
    assert "1,125.00 EUR" in page
    assert "BTC, DOGE" in page


def test_open_orders_and_todays_fills_are_shown(trader, alice_key):
    OrderFactory(key=alice_key, side="sell", price=Decimal("31000"))
    FillFactory(key=alice_key, side="buy", price=Decimal("29000"), amount=Decimal("0.02"))
    FillFactory(key=alice_key, executed_at=timezone.now() - timedelta(days=2), price=Decimal("1"))
    page = login(trader).get("/").content.decode()
    assert "31,000.00" in page and "Sell" in page
    assert "29,000.00" in page and "Buy" in page
    assert "1.00</td>" not in page.split("Today's fills")[1]  # yesterday's fill is not "today"
    assert 'hx-trigger="every 5s"' in page


def test_the_live_partial_shows_a_new_fill_without_reloading(trader, alice_key):
    client = login(trader)
    first = client.get("/overview/live/").content.decode()
    assert "No fills." in first
    fill = FillFactory(key=alice_key, price=Decimal("27777"))
    second = client.get("/overview/live/").content.decode()
    assert f'id="fill-{fill.pk}"' in second and "27,777.00" in second


def test_key_health_warnings_name_each_problem(trader, alice_key):
    ExchangeKey.objects.filter(pk=alice_key.pk).update(
        status=ExchangeKey.Status.UNDECRYPTABLE, rotate_by=timezone.now() - timedelta(days=1)
    )
    page = login(trader).get("/").content.decode()
    assert "cannot be decrypted" in page
    assert "no IP whitelist" in page
    assert "due for rotation" in page


def test_refresh_queues_a_sync_then_prices_for_each_readable_key(
    trader, alice_key, monkeypatch, django_capture_on_commit_callbacks
):
    from celery import canvas

    sent = []
    monkeypatch.setattr(
        canvas._chain,
        "apply_async",
        lambda self, *a, **kw: sent.append([t.args for t in self.tasks]),
    )
    client = login(trader)
    assert client.get("/overview/refresh/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/overview/refresh/", {"quote": "EUR"})
    assert response.status_code == 302 and response.url == "/?quote=EUR"
    assert sent == [[(str(alice_key.pk),), (str(alice_key.pk), "EUR")]]


def test_a_viewer_sees_balances_and_orders_but_no_trade_buttons(bob):
    viewer, key = make_viewer(bob)
    BalanceFactory(key=key, asset="USDT")
    order = OrderFactory(key=key)
    page = login(viewer).get("/").content.decode()
    assert "1,000.00" in page and "20,000.00" in page
    assert f"/orders/{order.pk}/cancel/" not in page and "Amend" not in page


def test_nobody_sees_another_users_balances_orders_or_fills(trader, alice_key, outsider):
    charlie, _ = outsider
    BalanceFactory(key=alice_key, asset="ETH", free=Decimal("7.25"))
    order = OrderFactory(key=alice_key)
    fill = FillFactory(key=alice_key)
    for url in ("/", "/overview/live/"):
        page = login(charlie).get(url).content.decode()
        assert "7.25" not in page and str(order.pk) not in page and f"fill-{fill.pk}" not in page


def test_with_several_keys_balances_are_also_summed_per_asset(trader, funded):
    from tests.trading.conftest import paper_key_for

    other = paper_key_for(trader, api_key="SECONDkey0123456789abcdef")
    BalanceFactory(key=other, asset="BTC", free=Decimal("0.25"))
    page = login(trader).get("/").content.decode()
    by_asset = page.split("All keys, by asset")[1].split("</table>")[0]
    assert "0.75000000" in by_asset and "22,500.00" in by_asset  # 0.75 BTC x 30,000
    assert "23,750.00 USDT" in page


def test_an_order_on_its_way_is_listed_with_its_key_kind_and_status(trader, alice_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trading.services.orders import order_place

    client = login(trader)
    client.get("/")
    with CaptureQueriesContext(connection) as nothing_pending:
        client.get("/")
    for price in ("49000", "48000"):
        order_place(
            user=trader,
            key=alice_key,
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            amount="0.01",
            price=price,
        )
    with CaptureQueriesContext(connection) as two_pending:
        page = client.get("/").content.decode()
    # The rows' columns are loaded with them; only their market decimals cost one query.
    assert len(two_pending) == len(nothing_pending) + 1
    on_the_way = page.split("On their way")[1].split("</table>")[0]
    assert on_the_way.count("<tr>") == 3  # header and two requests
    assert alice_key.label in on_the_way and "Place" in on_the_way and "Queued" in on_the_way
    assert "49,000.00" in on_the_way and "0.01000000" in on_the_way

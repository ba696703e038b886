"""The overview's balances and total refresh themselves: a sync's new balances show without a
reload (htmx polls the balances partial, which also replaces the total out of band)."""

from decimal import Decimal

import pytest

from tests.trading.factories import BalanceFactory, MarketPriceFactory
from tests.trading.pages import login
from trading.models import Balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(alice_key):
    BalanceFactory(key=alice_key, asset="USDT", free=Decimal("1000"))
    BalanceFactory(key=alice_key, asset="BTC", free=Decimal("0.5"))
    MarketPriceFactory(symbol="BTC/USDT", last=Decimal("30000"))
    return alice_key


def test_the_overview_polls_its_balances_in_the_chosen_quote(trader, funded):
    page = login(trader).get("/?quote=USDT").content.decode()
    assert 'hx-get="/overview/balances/?quote=USDT" hx-trigger="every 10s"' in page
    assert "16,000.00 USDT" in page
    assert "hx-swap-oob" not in page  # the page itself has nothing out of band


def test_the_partial_shows_balances_stored_after_the_page_loaded_and_the_new_total(trader, funded):
    client = login(trader)
    client.get("/")
    Balance.objects.filter(key=funded, asset="USDT").update(
        free=Decimal("2500"), total=Decimal("2500")
    )

    partial = client.get("/overview/balances/?quote=USDT").content.decode()

    assert "<html" not in partial
    assert '<td class="num">2,500.00</td>' in partial
    total = partial.split('id="overview-total"')[1]
    assert total.startswith(' hx-swap-oob="true"') and "17,500.00 USDT" in total


def test_the_partial_is_the_users_own(trader, funded, outsider):
    charlie, _key = outsider
    partial = login(charlie).get("/overview/balances/").content.decode()
    assert "16,000.00" not in partial and "No balances stored yet" in partial

"""The bot pages: list, create from a strategy's schema, start/pause/stop, stop everything.

Owner-scoped: an outsider gets 404 (audited); a viewer sees a bot but cannot run it (403).
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.trading.bot_helpers import make_bot_trader, new_bot
from tests.trading.conftest import paper_key_for
from tests.vault_helpers import connect
from trading.bots.models import Bot

pytestmark = pytest.mark.django_db
GRID = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.01"}


@pytest.fixture
def trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def key(trader):
    return paper_key_for(trader)


@pytest.fixture
def bot(trader, key):
    return new_bot(trader, key, strategy="grid", params=GRID, mode="dry_run")


@pytest.fixture
def alice_client(client, trader):
    client.force_login(trader)
    return client


def url(name, bot=None):
    return reverse(f"trading:{name}", args=[bot.pk] if bot else [])


def audited(event_type, bot=None) -> int:
    rows = AuditEvent.objects.filter(event_type=event_type)
    return rows.filter(target_id=str(bot.pk)).count() if bot else rows.count()


def test_the_list_shows_only_my_bots_with_status_and_pnl(alice_client, bot, bob):
    other = make_bot_trader(bob)
    new_bot(other, paper_key_for(other), strategy="dca", params={}, mode="dry_run")
    page = alice_client.get(url("bot_list")).content.decode()
    assert bot.name in page and "Stopped" in page and "USDT" in page
    theirs = Bot.objects.exclude(pk=bot.pk).get()
    assert theirs.name not in page and str(theirs.pk) not in page


def test_creating_a_bot_renders_the_strategy_schema_and_saves_it_stopped(alice_client, key):
    picker = alice_client.get(url("bot_create")).content.decode()
    assert "Grid" in picker and "?strategy=market_making" in picker
    form = alice_client.get(url("bot_create") + "?strategy=grid").content.decode()
    assert "Price of the lowest grid level." in form  # help text from the schema
    assert 'name="p-levels"' in form and 'value="11"' in form  # the default
    data = {
        "name": "My grid",
        "key": key.pk,
        "symbol": "btc/usdt",
        "tick_interval_seconds": 10,
        "max_order_notional": "500",
        "max_position_unit": "quote",
        "max_open_orders": 10,
        "daily_loss_limit": "50",
        "mode": "dry_run",
        "p-lower": "49000",
        "p-upper": "51000",
        "p-levels": "5",
        "p-amount": "0.01",
    }
    response = alice_client.post(url("bot_create") + "?strategy=grid", data)
    bot = Bot.objects.get()
    assert response.status_code == 302 and response["Location"] == url("bot_detail", bot)
    assert (bot.name, bot.symbol, bot.status, bot.mode) == (
        "My grid",
        "BTC/USDT",
        "stopped",
        "dry_run",
    )
    assert bot.params == {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.01"}
    assert bot.daily_loss_limit == Decimal("50")
    assert audited("bot.created", bot) == 1


def test_invalid_parameters_are_shown_next_to_the_form(alice_client, key):
    data = {
        "key": key.pk,
        "symbol": "BTC/USDT",
        "tick_interval_seconds": 10,
        "max_order_notional": "500",
        "max_position_unit": "quote",
        "max_open_orders": 10,
        "daily_loss_limit": "50",
        "mode": "dry_run",
        "p-lower": "51000",
        "p-upper": "49000",
        "p-levels": "5",
        "p-amount": "0.01",
    }
    page = alice_client.post(url("bot_create") + "?strategy=grid", data).content.decode()
    assert "The highest level must be above the lowest." in page
    assert not Bot.objects.exists()


def test_start_pause_and_stop_through_the_pages_are_audited(alice_client, bot):
    assert alice_client.post(url("bot_start", bot)).status_code == 302
    bot.refresh_from_db()
    assert bot.status == "running" and bot.next_tick_at is not None
    alice_client.post(url("bot_pause", bot))
    bot.refresh_from_db()
    assert bot.status == "paused"
    confirm = alice_client.get(url("bot_stop", bot)).content.decode()
    assert "Also cancel the bot&#x27;s open orders" in confirm
    alice_client.post(url("bot_stop", bot), {"cancel_orders": "on"})
    bot.refresh_from_db()
    assert bot.status == "stopped"
    assert [audited(e, bot) for e in ("bot.started", "bot.paused", "bot.stopped")] == [1, 1, 1]
    log = alice_client.get(url("bot_detail", bot)).content.decode()
    assert "Started (dry run)." in log and "Paused" in log and "Stopped by you." in log


def test_going_live_asks_for_confirmation(alice_client, trader, key):
    bot = new_bot(trader, key, strategy="grid", params=GRID, mode="live")
    page = alice_client.get(url("bot_start", bot)).content.decode()
    assert "paper exchange" in page and "no IP whitelist needed" in page
    alice_client.post(url("bot_start", bot))
    bot.refresh_from_db()
    assert bot.status == "stopped"
    alice_client.post(url("bot_start", bot), {"confirm_live": "on"})
    bot.refresh_from_db()
    assert bot.status == "running"


def test_a_real_exchange_needs_a_trading_key_with_an_ip_whitelist(alice_client, trader):
    key = connect(trader, scope_trade=True, ip_whitelist=[])
    bot = new_bot(trader, key, strategy="grid", params=GRID, mode="live")
    response = alice_client.post(url("bot_start", bot), {"confirm_live": "on"}, follow=True)
    assert "IP whitelist" in response.content.decode()
    bot.refresh_from_db()
    assert bot.status == "stopped"


def test_stop_everything_confirms_then_stops_all_my_bots(alice_client, trader, key, bot):
    other = new_bot(trader, key, strategy="dca", params={}, mode="dry_run")
    for each in (bot, other):
        alice_client.post(url("bot_start", each))
    page = alice_client.get(url("bots_stop_all")).content.decode()
    assert "2 running or paused" in page
    alice_client.post(url("bots_stop_all"))
    assert set(Bot.objects.values_list("status", flat=True)) == {"stopped"}
    assert audited("bots.stop_all") == 1


def test_htmx_polling_gets_only_the_live_part(alice_client, bot):
    partial = alice_client.get(url("bot_detail", bot), headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body and "Event log" in body and "P&amp;L" in body


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("bot_detail", "get"),
        ("bot_start", "get"),
        ("bot_start", "post"),
        ("bot_pause", "post"),
        ("bot_stop", "post"),
    ],
)
def test_an_outsider_gets_404_and_the_attempt_is_audited(client, charlie, bot, name, method):
    outsider = make_bot_trader(charlie)
    client.force_login(outsider)
    response = getattr(client, method)(url(name, bot))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(event_type="access.denied", target_id=str(bot.pk)).count() == 1
    bot.refresh_from_db()
    assert bot.status == "stopped"


def test_a_viewer_sees_the_bot_but_cannot_run_it(client, alice, trader, bot):
    trader.user_permissions.clear()
    viewer = type(trader).objects.get(pk=trader.pk)
    client.force_login(viewer)
    page = client.get(url("bot_detail", bot))
    assert page.status_code == 200 and "Start" not in page.content.decode().split("Event log")[0]
    for name in ("bot_start", "bot_pause", "bot_stop"):
        assert client.post(url(name, bot)).status_code == 403
    assert client.post(url("bots_stop_all")).status_code == 403
    assert client.get(url("bot_create")).status_code == 403
    bot.refresh_from_db()
    assert bot.status == "stopped"

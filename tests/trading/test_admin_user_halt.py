"""An admin's per-user halt and limit ceilings: audited, and a halt stops that user's trading."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from paper.models import PaperOrder
from tests.accounts.conftest import enrol_totp, make_user
from tests.paper.helpers import pin_market
from tests.trading.bot_helpers import make_bot_trader, new_bot, send_orders, started, tick
from tests.trading.conftest import paper_key_for
from trading.bots.models import Bot
from trading.models import AccountLimits

pytestmark = pytest.mark.django_db(transaction=True)
GRID = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.1"}


@pytest.fixture
def superuser(db):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    enrol_totp(superuser)
    client.force_login(superuser)
    return client


@pytest.fixture
def bot_trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def live_key(bot_trader, paper_url, paper_key, settings, eager_tasks):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.BOTS_MARKET_DATA_SECONDS = 0.001
    settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = 100
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=bot_trader)
    return paper_key_for(bot_trader, api_key=api_key, secret=secret)


def _save_limits(admin_client, user, **values):
    limits, _ = AccountLimits.objects.get_or_create(user=user)
    data = {
        "user": user.pk,
        "ceiling_max_order_notional": "",
        "ceiling_max_orders_per_minute": "",
        "ceiling_allowed_symbols": "[]",
    }
    data.update(values)
    url = reverse("admin:trading_accountlimits_change", args=[limits.pk])
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    limits.refresh_from_db()
    return limits


def test_halting_one_user_stops_their_bots_and_cancels_their_orders_on_the_exchange(
    admin_client, superuser, bot_trader, live_key
):
    bot = tick(started(new_bot(bot_trader, live_key, strategy="grid", params=GRID), bot_trader))
    send_orders(bot)
    assert PaperOrder.objects.filter(status="NEW").count() == 4

    limits = _save_limits(admin_client, bot_trader, trading_halted="on")

    assert limits.trading_halted
    bot.refresh_from_db()
    assert bot.status == Bot.Status.STOPPED and "kill switch" in bot.status_reason
    assert not PaperOrder.objects.filter(status__in=["NEW", "PARTIALLY_FILLED"]).exists()
    halted = AuditEvent.objects.get(event_type="trading.user_halted")
    assert halted.actor_id == superuser.pk and halted.detail == {"user": bot_trader.username}
    assert AuditEvent.objects.filter(event_type="orders.cancel_all").count() == 1


def test_a_ceiling_change_is_audited_with_plain_numbers_and_resuming_is_audited(
    admin_client, bot_trader
):
    _save_limits(
        admin_client,
        bot_trader,
        ceiling_max_order_notional="500",
        ceiling_max_orders_per_minute="5",
        trading_halted="on",
    )
    _save_limits(admin_client, bot_trader, ceiling_max_order_notional="500")

    changes = AuditEvent.objects.filter(event_type="limits.ceiling_changed").order_by("seq")
    assert [e.detail["trading_halted"] for e in changes] == [True, False]
    assert changes[0].detail["ceiling_max_order_notional"] == "500"
    assert changes[0].detail["ceiling_max_orders_per_minute"] == 5
    assert AuditEvent.objects.filter(event_type="trading.user_halted").count() == 1
    assert AuditEvent.objects.filter(event_type="trading.user_resumed").count() == 1

"""A live bot whose key expires or is rejected stops at once, with its orders accounted for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, ExchangeKey, Notification
from paper.models import PaperApiKey, PaperOrder
from tests.paper.helpers import pin_market
from tests.trading.bot_helpers import make_bot_trader, new_bot, send_orders, started, tick
from tests.trading.conftest import paper_key_for
from trading.bots.models import Bot, BotEvent
from trading.models import Order, OrderIntent
from trading.services.keys import key_verify

pytestmark = pytest.mark.django_db(transaction=True)
GRID = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.1"}


@pytest.fixture
def bot_trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def later(monkeypatch):
    """Move the clock forward for keytrade and the paper exchange alike (same process)."""
    real_now, start = timezone.now, timezone.now()

    def move(delta: timedelta):
        moved = start + delta
        monkeypatch.setattr(timezone, "now", lambda: moved + (real_now() - start))

    return move


@pytest.fixture
def exchange(bot_trader, paper_url, paper_key, settings, eager_tasks):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.BOTS_MARKET_DATA_SECONDS = 0.001
    settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = 100
    pin_market("BTCUSDT", "50000")
    return paper_key


def _grid_bot_with_orders(user, key) -> Bot:
    bot = tick(started(new_bot(user, key, strategy="grid", params=GRID), user))
    send_orders(bot)
    assert Order.objects.filter(intent__bot=bot, status=Order.Status.OPEN).count() == 4
    return bot


def test_an_expired_key_stops_its_bot_on_the_first_failed_tick_and_says_what_is_left(
    bot_trader, exchange, later
):
    api_key, secret = exchange(user=bot_trader, expires_in=timedelta(days=3))
    key = paper_key_for(bot_trader, api_key=api_key, secret=secret)
    key_verify(key_id=key.pk)  # keytrade learns the expiry date from the exchange
    bot = _grid_bot_with_orders(bot_trader, key)

    later(timedelta(days=4))  # the paper exchange now answers -2015 for this key
    bot = tick(bot)

    assert bot.status == Bot.Status.ERROR
    assert "expired the bot's key" in bot.status_reason
    key = ExchangeKey.objects.get(pk=key.pk)
    assert key.status == ExchangeKey.Status.DISABLED and key.is_expired
    event = BotEvent.objects.filter(bot=bot, level="error").latest("ts")
    assert "4 of its orders may still rest on the exchange" in event.message
    assert Notification.objects.filter(user=bot_trader, kind="bot_error").count() == 1
    assert Notification.objects.filter(user=bot_trader, kind="key_expired").count() == 1
    assert AuditEvent.objects.filter(event_type="bot.error", target_id=str(bot.pk)).count() == 1
    # Nothing more is sent; the four resting orders are still shown as open, not forgotten.
    assert not OrderIntent.objects.filter(bot=bot, status=OrderIntent.Status.NEW).exists()
    assert Order.objects.filter(intent__bot=bot, status=Order.Status.OPEN).count() == 4
    assert PaperOrder.objects.count() == 4


def test_a_key_disabled_on_the_exchange_stops_every_bot_using_it(bot_trader, exchange):
    api_key, secret = exchange(user=bot_trader)
    key = paper_key_for(bot_trader, api_key=api_key, secret=secret)
    first = _grid_bot_with_orders(bot_trader, key)
    second = tick(started(new_bot(bot_trader, key, strategy="dca", params={}), bot_trader))
    PaperApiKey.objects.filter(api_key=api_key).update(is_enabled=False)

    first = tick(first)
    assert first.status == Bot.Status.ERROR and "rejected the bot's key" in first.status_reason
    assert ExchangeKey.objects.get(pk=key.pk).status == ExchangeKey.Status.DISABLED
    # The other bot on the same key stops on its next tick, without asking the exchange.
    second = tick(second)
    assert second.status == Bot.Status.ERROR
    assert "not active for trading" in second.status_reason

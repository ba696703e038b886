"""Rotating the key of a running live bot: no restart, no missed tick, no doubled order.

The bot trades on the live paper exchange through real ccxt. Its key is rotated between two
ticks and the old key is then disabled on the exchange, so every later request must use the
new credentials.
"""

import pytest

from paper.models import PaperApiKey, PaperOrder
from paper.services.controls import price_set
from tests.paper.helpers import pin_market
from tests.trading.bot_helpers import make_bot_trader, new_bot, send_orders, started, tick
from tests.trading.conftest import paper_key_for
from tests.trading.paper_helpers import exchange_orders
from trading.bots.models import Bot, BotEvent
from trading.models import OrderIntent
from trading.services.key_rotation import key_rotate_verified

pytestmark = pytest.mark.django_db(transaction=True)
GRID = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.1"}


@pytest.fixture
def bot_trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def exchange(bot_trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.BOTS_MARKET_DATA_SECONDS = 0.001
    settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = 100
    pin_market("BTCUSDT", "50000")
    return paper_key


def test_a_running_bot_keeps_trading_through_a_rotation_without_doubling_an_order(
    bot_trader, exchange
):
    old_api_key, old_secret = exchange(user=bot_trader)
    key = paper_key_for(bot_trader, api_key=old_api_key, secret=old_secret)
    bot = tick(started(new_bot(bot_trader, key, strategy="grid", params=GRID), bot_trader))
    send_orders(bot)
    assert PaperOrder.objects.filter(status="NEW").count() == 4
    seq_before = bot.tick_seq

    new_api_key, new_secret = exchange(user=bot_trader)
    key_rotate_verified(key=key, api_key=new_api_key, secret=new_secret, actor=bot_trader)
    PaperApiKey.objects.filter(api_key=old_api_key).update(is_enabled=False)

    # The price falls through the 49,500 buy: the next tick sees the fill through the new key
    # and re-places the opposite sell.
    price_set(symbol="BTCUSDT", price="49400")
    bot = tick(bot)
    sent = send_orders(bot)

    assert bot.status == Bot.Status.RUNNING and bot.consecutive_failures == 0
    assert bot.tick_seq == seq_before + 1
    assert not BotEvent.objects.filter(bot=bot, level="error").exists()
    assert [i.status for i in sent] == [OrderIntent.Status.OPEN]
    assert sent[0].side == "sell"
    for intent in OrderIntent.objects.filter(bot=bot, kind="place"):
        assert exchange_orders(intent).count() == 1
    assert PaperOrder.objects.count() == 5

    # And the bot is not restarted: another tick, nothing new, nothing doubled.
    bot = tick(bot)
    assert send_orders(bot) == []
    assert bot.status == Bot.Status.RUNNING and bot.tick_seq == seq_before + 2
    assert PaperOrder.objects.count() == 5

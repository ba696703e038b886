"""Each built-in strategy run by the bot engine on scripted paper-exchange prices."""

from decimal import Decimal

import pytest

from paper.models import PaperOrder
from paper.services.controls import price_set
from tests.paper.helpers import pin_market
from tests.trading.bot_helpers import (
    make_bot_trader,
    minutes_pass,
    new_bot,
    send_orders,
    started,
    tick,
)
from tests.trading.conftest import paper_key_for
from trading.bots.models import BotTrade
from trading.models import OrderIntent

pytestmark = pytest.mark.django_db(transaction=True)
S = OrderIntent.Status


@pytest.fixture
def bot_trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def live_key(bot_trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.BOTS_MARKET_DATA_SECONDS = 0.001  # every tick sees fresh prices
    settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = 100
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=bot_trader)
    return paper_key_for(bot_trader, api_key=api_key, secret=secret)


def test_dca_buys_at_market_every_interval_through_the_exchange(bot_trader, live_key):
    bot = started(
        new_bot(bot_trader, live_key, strategy="dca", params={"quote_amount": "100", "interval_minutes": 1}),
        bot_trader,
    )
    tick(bot)
    first = send_orders(bot)
    assert [(i.side, i.type, i.status) for i in first] == [("buy", "market", S.FILLED)]
    assert Decimal("0.00199") < first[0].amount <= Decimal("0.002")  # 100 USDT at the ask
    tick(bot)  # same minute: nothing new
    assert OrderIntent.objects.filter(bot=bot).count() == 1
    minutes_pass(1)
    bot = tick(bot)
    assert len(send_orders(bot)) == 1
    bot = tick(bot)
    assert PaperOrder.objects.filter(client_order_id__startswith="kt").count() == 2
    trades = BotTrade.objects.filter(bot=bot, dry_run=False)
    assert trades.count() == 2
    assert Decimal(bot.book["BTC/USDT"]["pos"]) == sum(t.amount for t in trades)
    assert bot.fees_quote > 0

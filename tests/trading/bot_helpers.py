"""Helpers for bot tests: a bot trader, a live paper key, ticking a bot now, sending its orders."""

from decimal import Decimal

from django.contrib.auth.models import Permission
from django.utils import timezone

from paper.services.controls import clock_advance
from tests.trading.conftest import make_trader
from tests.trading.paper_helpers import drive
from trading.bots.models import Bot
from trading.models import OrderIntent
from trading.services.bots import bot_create, bot_start, bot_tick


def make_bot_trader(user):
    """A trader (keys, orders, 2FA) who may also run bots."""
    user = make_trader(user)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="run_bots")
    )
    return type(user).objects.get(pk=user.pk)


def new_bot(user, key, *, strategy, params, mode="live", symbol="BTC/USDT", **limits) -> Bot:
    values = {
        "max_order_notional": Decimal("10000"),
        "daily_loss_limit": Decimal("0"),
        "max_open_orders": 50,
    }
    values.update(limits)
    return bot_create(
        user=user,
        key=key,
        name=f"{strategy} test",
        symbol=symbol,
        strategy=strategy,
        params=params,
        mode=mode,
        **values,
    )


def started(bot: Bot, user) -> Bot:
    return bot_start(bot=bot, actor=user, confirm_live=True)


def tick(bot: Bot, *, worker="test-worker") -> Bot:
    """Make the bot due now and run one tick, as a worker would; return it refreshed."""
    Bot.objects.filter(pk=bot.pk).update(next_tick_at=timezone.now())
    assert bot_tick(bot_id=bot.pk, worker=worker), "the bot was not claimed"
    bot.refresh_from_db()
    return bot


def send_orders(bot: Bot) -> list[OrderIntent]:
    """Send the bot's queued intents to the exchange (what order_submit_task would do)."""
    intents = list(OrderIntent.objects.filter(bot=bot, status=OrderIntent.Status.NEW))
    for intent in intents:
        drive(intent.pk)
    return [OrderIntent.objects.get(pk=i.pk) for i in intents]


def minutes_pass(minutes: float) -> None:
    """Move the paper market's clock forward."""
    clock_advance(seconds=minutes * 60)

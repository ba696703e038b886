"""The bot engine's guarantees: risk limits, daily-loss stop, kill switches, claims, restarts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, Notification
from paper.models import PaperOrder
from paper.services.controls import fault_add, price_set
from tests.paper.helpers import pin_market
from tests.trading.bot_helpers import make_bot_trader, new_bot, send_orders, started, tick
from tests.trading.conftest import paper_key_for
from trading.bots.models import Bot, BotEvent
from trading.models import OrderIntent
from trading.services import bots as bot_services
from trading.services.bots import bot_stop, bot_tick, bots_due, bots_stop_all, bots_tick
from trading.services.halt import trading_halt_set

pytestmark = pytest.mark.django_db(transaction=True)
S = OrderIntent.Status
GRID = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.1"}


@pytest.fixture
def bot_trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def live_key(bot_trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.BOTS_MARKET_DATA_SECONDS = 0.001
    settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = 100
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=bot_trader)
    return paper_key_for(bot_trader, api_key=api_key, secret=secret)


def open_on_exchange():
    return PaperOrder.objects.filter(status__in=["NEW", "PARTIALLY_FILLED"])


def audited(event_type: str, bot) -> int:
    return AuditEvent.objects.filter(event_type=event_type, target_id=str(bot.pk)).count()


def grid_bot(user, key, **limits):
    return started(new_bot(user, key, strategy="grid", params=GRID, **limits), user)


def test_a_daily_loss_stops_the_bot_and_cancels_its_orders_on_the_exchange(bot_trader, live_key):
    bot = tick(grid_bot(bot_trader, live_key, daily_loss_limit=Decimal("200")))
    send_orders(bot)
    assert open_on_exchange().count() == 4
    price_set(symbol="BTCUSDT", price="47000")  # both buys fill, then the price keeps falling
    bot = tick(bot)
    assert bot.status == Bot.Status.RISK_STOPPED
    assert "Daily loss" in bot.status_reason
    assert bot.total_pnl < Decimal("-200")
    send_orders(bot)  # the queued cancellations reach the exchange
    assert not open_on_exchange().exists()
    assert audited("bot.risk_stop", bot) == 1
    assert Notification.objects.get(user=bot_trader, kind="risk_stop").link.endswith(
        f"/bots/{bot.pk}/"
    )
    assert BotEvent.objects.filter(bot=bot, kind="risk", level="error").exists()
    Bot.objects.filter(pk=bot.pk).update(next_tick_at=timezone.now())
    assert bot_tick(bot_id=bot.pk) is False  # a stopped bot does not tick


def test_orders_beyond_the_bots_limits_are_refused_before_any_request(bot_trader, live_key):
    bot = tick(grid_bot(bot_trader, live_key, max_order_notional=Decimal("4000")))
    refused = BotEvent.objects.filter(bot=bot, kind="risk")
    # 0.1 BTC at 49,000 and up is worth more than 4,000: nothing may be placed.
    assert refused.count() == 4 and "above the bot's limit" in refused.first().message
    assert not OrderIntent.objects.filter(bot=bot).exists()


def test_max_open_orders_and_max_position_cap_the_grid(bot_trader, live_key):
    capped = tick(grid_bot(bot_trader, live_key, max_open_orders=3))
    assert OrderIntent.objects.filter(bot=capped).count() == 3
    small = tick(
        grid_bot(
            bot_trader,
            live_key,
            max_position=Decimal("0.65"),
            max_position_unit=Bot.PositionUnit.BASE,
        )
    )
    # The key holds 0.5 BTC; one more 0.1 buy fits under 0.65, the second does not.
    assert OrderIntent.objects.filter(bot=small, side="buy").count() == 1


def test_the_admin_kill_switch_stops_every_bot_and_their_orders_never_go_out(
    bot_trader, live_key, bob
):
    bot = tick(grid_bot(bot_trader, live_key))
    dry = tick(
        started(
            new_bot(bot_trader, live_key, strategy="grid", params=GRID, mode="dry_run"), bot_trader
        )
    )
    assert dry.sim["orders"]
    trading_halt_set(actor=bob, active=True, reason="exchange incident")
    for each in (bot, dry):
        each.refresh_from_db()
        assert each.status == Bot.Status.STOPPED and "kill switch" in each.status_reason
        assert audited("bot.kill_switch", each) == 1
    assert dry.sim["orders"] == {}
    assert Notification.objects.filter(user=bot_trader, kind="kill_switch").count() == 2
    sent = send_orders(bot)
    assert {i.status for i in sent} == {S.CANCELLED_BY_HALT}
    assert not PaperOrder.objects.exists()


def test_stop_everything_stops_the_users_bots_and_cancels_their_open_orders(bot_trader, live_key):
    first = tick(grid_bot(bot_trader, live_key))
    send_orders(first)
    second = tick(grid_bot(bot_trader, live_key))  # its orders are still queued
    assert bots_stop_all(user=bot_trader) == 2
    send_orders(first)
    assert not open_on_exchange().exists()
    queued = OrderIntent.objects.filter(bot=second, kind="place")
    assert set(queued.values_list("status", flat=True)) == {S.CANCELED}
    assert {b.status for b in Bot.objects.all()} == {Bot.Status.STOPPED}
    assert AuditEvent.objects.filter(event_type="bots.stop_all").count() == 1


def test_a_bot_never_ticks_twice_at_once(bot_trader, live_key):
    bot = grid_bot(bot_trader, live_key)
    assert bots_due() == [str(bot.pk)]
    assert bots_due() == []  # dispatched once; not queued again while it waits
    from trading.services.bots import _claim

    assert _claim(bot.pk, "worker-a") is not None
    assert _claim(bot.pk, "worker-b") is None
    assert bot_tick(bot_id=bot.pk, worker="worker-b") is False


def test_a_batch_ticks_each_due_bot_once_and_leaves_the_others_alone(bot_trader, live_key):
    params = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.01"}

    def dry():
        bot = new_bot(bot_trader, live_key, strategy="grid", params=params, mode="dry_run")
        return started(bot, bot_trader)

    due, also_due, not_due, busy = dry(), dry(), dry(), dry()
    assert len(bots_due()) == 4  # all four are marked dispatched
    later = timezone.now() + timedelta(minutes=5)
    Bot.objects.filter(pk=not_due.pk).update(next_tick_at=later)
    Bot.objects.filter(pk=busy.pk).update(claimed_until=later, claimed_by="other-worker")
    ids = [str(b.pk) for b in (due, also_due, not_due, busy)]
    assert bots_tick(bot_ids=ids, worker="w") == 2
    assert bots_tick(bot_ids=ids, worker="w") == 0  # delivered twice: nothing ticks again
    rows = {b.pk: b for b in Bot.objects.all()}
    assert [rows[b.pk].tick_seq for b in (due, also_due, not_due, busy)] == [1, 1, 0, 0]
    assert rows[due.pk].sim["orders"] and rows[also_due.pk].sim["orders"]
    assert rows[due.pk].claimed_by == "" and rows[busy.pk].claimed_by == "other-worker"
    # The skipped bot's dispatch mark is cleared, so beat queues it again when it is due.
    assert rows[not_due.pk].dispatched_until is None


def test_a_batch_out_of_time_hands_its_bots_back_unticked(bot_trader, live_key):
    bot = grid_bot(bot_trader, live_key)
    assert bots_tick(bot_ids=[str(bot.pk)], worker="w", budget_seconds=-1) == 0
    bot.refresh_from_db()
    assert (bot.tick_seq, bot.claimed_by, bot.claimed_until) == (0, "", None)
    assert bots_due() == [str(bot.pk)]  # due again at once
    assert not OrderIntent.objects.filter(bot=bot).exists()


def test_orders_placed_by_a_tick_that_ran_while_the_owner_stopped_the_bot_are_cancelled(
    bot_trader, live_key, monkeypatch
):
    bot = started(
        new_bot(bot_trader, live_key, strategy="grid", params=GRID, mode="dry_run"), bot_trader
    )
    real_tick_run = bot_services.tick_run

    def stopped_during_the_tick(claimed, **kwargs):
        bot_stop(bot=Bot.objects.get(pk=claimed.pk), actor=bot_trader)
        return real_tick_run(claimed, **kwargs)

    monkeypatch.setattr(bot_services, "tick_run", stopped_during_the_tick)
    bot = tick(bot)
    assert bot.status == Bot.Status.STOPPED and bot.tick_seq == 1
    assert bot.claimed_by == "" and bot.sim["orders"] == {}
    assert BotEvent.objects.filter(bot=bot, message__startswith="Cancelled 4 simulated").exists()


def test_a_tick_retried_after_a_lost_worker_reuses_its_intents(bot_trader, live_key):
    bot = tick(grid_bot(bot_trader, live_key))
    first = set(OrderIntent.objects.filter(bot=bot).values_list("client_order_id", flat=True))
    # The worker died after creating the intents but before storing the tick: the row still
    # says tick 0, and its claim has run out.
    Bot.objects.filter(pk=bot.pk).update(
        tick_seq=0, state={}, claimed_until=timezone.now(), claimed_by="dead-worker"
    )
    bot = tick(bot, worker="new-worker")
    again = set(OrderIntent.objects.filter(bot=bot).values_list("client_order_id", flat=True))
    assert again == first
    send_orders(bot)
    assert PaperOrder.objects.count() == len(first) == 4


def test_three_failed_ticks_put_the_bot_in_error_and_every_failure_is_logged(bot_trader, live_key):
    bot = grid_bot(bot_trader, live_key)
    fault_add(kind="error_503")  # the exchange is down: worth retrying, but not forever
    for _ in range(2):
        bot = tick(bot)
        assert bot.status == Bot.Status.RUNNING
    bot = tick(bot)
    assert bot.status == Bot.Status.ERROR
    errors = BotEvent.objects.filter(bot=bot, kind="error")
    assert errors.count() == 3
    assert "The exchange call failed" in errors.first().message
    assert audited("bot.error", bot) == 1
    assert Notification.objects.filter(user=bot_trader, kind="bot_error").count() == 1

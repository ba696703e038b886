"""A running bot that stops ticking (no worker, or no beat) says so on its pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.trading.bot_helpers import make_bot_trader, new_bot
from tests.trading.conftest import paper_key_for
from trading.bots.models import Bot
from trading.templatetags.bot_format import duration_short

pytestmark = pytest.mark.django_db
GRID = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.01"}


@pytest.fixture
def trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def bot(trader):
    return new_bot(trader, paper_key_for(trader), strategy="grid", params=GRID, mode="dry_run")


def _running(bot, *, last_tick_ago: timedelta) -> Bot:
    now = timezone.now()
    Bot.objects.filter(pk=bot.pk).update(
        status=Bot.Status.RUNNING,
        tick_interval_seconds=10,
        started_at=now - timedelta(hours=1),
        last_tick_at=now - last_tick_ago,
    )
    return Bot.objects.get(pk=bot.pk)


def test_a_bot_ticking_on_time_is_not_flagged(client, trader, bot):
    bot = _running(bot, last_tick_ago=timedelta(seconds=25))
    assert bot.overdue_seconds is None
    client.force_login(trader)
    assert "No tick for" not in client.get(reverse("trading:bot_detail", args=[bot.pk])).text


def test_a_silent_running_bot_is_flagged_on_its_page_and_in_the_list(client, trader, bot):
    bot = _running(bot, last_tick_ago=timedelta(minutes=12, seconds=5))
    assert 12 * 60 <= bot.overdue_seconds < 13 * 60
    client.force_login(trader)
    page = client.get(reverse("trading:bot_detail", args=[bot.pk])).text
    assert "No tick for 12 min: check that a Celery worker and beat are running" in page
    assert "no tick for 12 min" in client.get(reverse("trading:bot_list")).text


def test_a_stopped_bot_is_never_overdue(bot):
    Bot.objects.filter(pk=bot.pk).update(last_tick_at=timezone.now() - timedelta(days=3))
    assert Bot.objects.get(pk=bot.pk).overdue_seconds is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 s"), (720, "12 min"), (3600, "1 h"), (3900, "1 h 5 min"), (93600, "1 d 2 h")],
)
def test_durations_read_short(seconds, text):
    assert duration_short(seconds) == text

"""Bots under real processes: a Celery worker with embedded beat ticks bots against the paper
exchange; killed and restarted, it resumes them without a duplicate order.
"""

import os
import signal

import pytest
from django.conf import settings

from paper.models import PaperOrder
from tests.paper.helpers import pin_market
from tests.processes import ROOT, celery_worker_args, running, tail, wait_for
from tests.trading.bot_helpers import make_bot_trader, new_bot, started
from tests.trading.conftest import paper_key_for
from tests.trading.test_worker_crash import database_url
from trading.bots.models import Bot
from trading.models import OrderIntent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
WORKER = "bots@e2e-test"


@pytest.fixture
def trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def live_key(trader, paper_url, paper_key):
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=trader)
    return paper_key_for(trader, api_key=api_key, secret=secret)


@pytest.fixture
def worker_env(tmp_path, paper_url):
    """A worker on the test database, a private filesystem broker and this test's cache."""
    for folder in ("broker", "broker-processed"):
        (tmp_path / folder).mkdir()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.trading.worker_settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url(),
        "PAPER_EXCHANGE_URL": paper_url,
        "PAPER_EXCHANGE_RATE_LIMIT_MS": "1",
        "BOTS_MARKET_DATA_SECONDS": "0.5",
        "KT_TEST_BROKER_DIR": str(tmp_path / "broker"),
        "KT_TEST_CACHE_DIR": str(settings.CACHES["default"].get("LOCATION", "")),
    }


def worker_with_beat(tmp_path, name: str) -> list:
    # Embedded beat with a file scheduler: the real BEAT_SCHEDULE, no beat tables needed.
    return celery_worker_args(name=name) + [
        "--beat",
        "--scheduler",
        "celery.beat:PersistentScheduler",
        "--schedule",
        str(tmp_path / f"{name}-beat"),
    ]


def seq(bot) -> int:
    return Bot.objects.values_list("tick_seq", flat=True).get(pk=bot.pk)


def test_beat_and_a_worker_tick_bots_and_a_restart_resumes_without_a_duplicate(
    trader, live_key, worker_env, tmp_path
):
    dca = new_bot(
        trader,
        live_key,
        strategy="dca",
        params={"quote_amount": "100", "interval_minutes": 60},
        tick_interval_seconds=1,
    )
    dry = new_bot(
        trader,
        live_key,
        strategy="grid",
        mode="dry_run",
        params={"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.01"},
        tick_interval_seconds=1,
    )
    started(dca, trader), started(dry, trader)
    log = tmp_path / "worker-1.log"
    with running(worker_with_beat(tmp_path, "w1"), env=worker_env, log=log, cwd=ROOT) as proc:
        filled = wait_for(
            lambda: OrderIntent.objects.filter(bot=dca, status="FILLED").exists(),
            timeout=90,
            proc=proc,
        )
        assert filled, tail(log)
        assert wait_for(lambda: seq(dry) >= 3, timeout=30, proc=proc), tail(log)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    before = seq(dca)
    log = tmp_path / "worker-2.log"
    with running(worker_with_beat(tmp_path, "w2"), env=worker_env, log=log, cwd=ROOT) as proc:
        resumed = wait_for(lambda: seq(dca) >= before + 3, timeout=90, proc=proc)
        assert resumed, tail(log)
    # One buy per hour: however many ticks and restarts, the exchange saw one order.
    assert PaperOrder.objects.count() == 1
    assert OrderIntent.objects.filter(bot=dca).count() == 1
    assert Bot.objects.get(pk=dry.pk).sim["orders"]  # the dry-run grid rests simulated orders
    assert not OrderIntent.objects.filter(bot=dry).exists()

"""A Celery worker SIGKILLed mid-order: the restarted worker reconciles before new work.

Real processes: a worker subprocess on a filesystem broker, the live paper exchange in this
process, the test database shared between them.
"""

import os
import signal
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from paper.models import Fault, PaperOrder
from paper.services.controls import fault_add
from tests.paper.helpers import pin_market
from tests.processes import ROOT, celery_worker_args, run, running, tail, wait_for
from tests.trading.conftest import paper_key_for
from trading.models import OrderIntent
from trading.services.locks import key_lock
from trading.services.orders import order_place

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = OrderIntent.Status
WORKER = "orders@crash-test"
PUBLISH = """
import os, sys, django
django.setup()
from trading.tasks import order_submit_task
order_submit_task.delay(sys.argv[1])
"""


def database_url() -> str:
    """The test database as a URL for the worker subprocess (SQLite file or PostgreSQL)."""
    from urllib.parse import quote

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user, password = quote(db["USER"] or ""), quote(db["PASSWORD"] or "")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker_env(tmp_path, paper_url):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.trading.worker_settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url(),
        PAPER_EXCHANGE_URL=paper_url,
        PAPER_EXCHANGE_RATE_LIMIT_MS="1",
        KT_TEST_BROKER_DIR=str(tmp_path / "broker"),
        KT_TEST_CACHE_DIR=str(settings.CACHES["default"].get("LOCATION", "")),
    )
    (tmp_path / "broker").mkdir()
    (tmp_path / "broker-processed").mkdir()
    (tmp_path / "broker-control").mkdir()
    return env


@pytest.fixture
def live_key(trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=trader)
    return paper_key_for(trader, api_key=api_key, secret=secret)


def publish(intent, env):
    sent = run([sys.executable, "-c", PUBLISH, str(intent.pk)], env=env, cwd=ROOT)
    assert sent.returncode == 0, sent.stderr


def status(intent):
    return OrderIntent.objects.filter(pk=intent.pk).values_list("status", flat=True).get()


def kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def restart_until(intent, expected, env, log: Path):
    with running(celery_worker_args(name=WORKER), env=env, log=log, cwd=ROOT) as proc:
        done = wait_for(lambda: status(intent) in expected, timeout=60, proc=proc)
        assert done, f"intent is {status(intent)}:\n{tail(log)}"
    return log.read_text()


def place(trader, key):
    return order_place(
        user=trader,
        key=key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="49000",
    )


def test_killed_after_sending_the_order_lands_once(trader, live_key, worker_env, tmp_path):
    # The exchange takes the order, then answers slowly: the worker dies waiting for it.
    fault_add(
        kind=Fault.Kind.DELAY_AFTER, endpoint="api/v3/order", method="POST", value=8000, count=1
    )
    intent = place(trader, live_key)
    log = tmp_path / "worker-1.log"
    with running(celery_worker_args(name=WORKER), env=worker_env, log=log, cwd=ROOT) as proc:
        publish(intent, worker_env)
        landed = wait_for(
            lambda: PaperOrder.objects.filter(client_order_id=intent.client_order_id).exists(),
            timeout=60,
            proc=proc,
        )
        assert landed, tail(log)
        assert status(intent) == S.SUBMITTING
        kill(proc)
    second = restart_until(intent, {S.OPEN}, worker_env, tmp_path / "worker-2.log")
    assert "startup reconciliation done" in second
    assert PaperOrder.objects.filter(client_order_id=intent.client_order_id).count() == 1


def test_killed_between_claim_and_send_the_order_is_sent_once(
    trader, live_key, worker_env, tmp_path
):
    intent = place(trader, live_key)
    log = tmp_path / "worker-1.log"
    # Holding the key's write lock parks the worker right after its claim, before any send.
    with key_lock(live_key.pk, ttl=120, wait=1):
        with running(celery_worker_args(name=WORKER), env=worker_env, log=log, cwd=ROOT) as proc:
            publish(intent, worker_env)
            claimed = wait_for(lambda: status(intent) == S.SUBMITTING, timeout=60, proc=proc)
            assert claimed, tail(log)
            kill(proc)
    assert not PaperOrder.objects.filter(client_order_id=intent.client_order_id).exists()
    restart_until(intent, {S.OPEN}, worker_env, tmp_path / "worker-2.log")
    orders = PaperOrder.objects.filter(client_order_id=intent.client_order_id)
    assert orders.count() == 1
    intent.refresh_from_db()
    assert intent.attempt == 2  # the same intent and client order id, sent by the new worker

"""Task wiring: the outbox sweep, follow-up scheduling with countdowns, the per-key lock."""

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.trading.conftest import paper_key_for
from trading import tasks
from trading.models import OrderIntent
from trading.services import locks
from trading.services.locks import LockBusy, key_lock
from trading.services.orders import order_place
from trading.services.submission import Followup

pytestmark = pytest.mark.django_db
S = OrderIntent.Status


@pytest.fixture
def sent(monkeypatch):
    calls = []

    def recorder(task):
        def apply_async(args=None, kwargs=None, countdown=None, **options):
            calls.append((task.name.rsplit(".", 1)[-1], tuple(args or ()), countdown))

        return apply_async

    for task in (tasks.order_submit_task, tasks.order_reconcile_task):
        monkeypatch.setattr(task, "apply_async", recorder(task))
    return calls


def make_intent(trader, **fields):
    key = paper_key_for(trader)
    intent = order_place(
        user=trader,
        key=key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="100",
    )
    OrderIntent.objects.filter(pk=intent.pk).update(**fields)
    return intent


def test_the_sweep_resends_only_stale_new_intents(trader, sent):
    stale = make_intent(trader, updated_at=timezone.now() - timedelta(minutes=5))
    OrderIntent.objects.create(
        user=trader,
        key=stale.key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="100",
    )  # fresh: its own message is still on the way
    OrderIntent.objects.create(
        user=trader,
        key=stale.key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="100",
        updated_at=timezone.now() - timedelta(minutes=5),
        retry_at=timezone.now() + timedelta(minutes=1),
    )  # waiting out a rate limit
    tasks.orders_sweep_task()
    assert sent == [("order_submit_task", (str(stale.pk),), None)]


def test_follow_ups_become_countdowns_carrying_only_ids(sent):
    tasks._schedule("abc", Followup("reconcile", 5, 2))
    tasks._schedule("abc", Followup("submit", 7))
    tasks._schedule("abc", None)
    assert sent == [("order_reconcile_task", ("abc", 2), 5), ("order_submit_task", ("abc",), 7)]


def test_every_task_has_soft_and_hard_time_limits():
    for name in dir(tasks):
        task = getattr(tasks, name)
        if hasattr(task, "delay") and task.name.startswith("trading."):
            assert task.soft_time_limit and task.time_limit > task.soft_time_limit, task.name


def _lock_excludes_a_second_holder():
    with key_lock("k1", ttl=5, wait=0.1):
        with pytest.raises(LockBusy), key_lock("k1", ttl=5, wait=0.1):
            pass
        with key_lock("k2", ttl=5, wait=0.1):  # another key is independent
            pass
    with key_lock("k1", ttl=5, wait=0.1):  # released on exit
        pass


def test_the_key_lock_excludes_a_second_holder():
    _lock_excludes_a_second_holder()


def test_without_redis_the_key_lock_spans_processes_and_dies_with_its_holder(monkeypatch):
    monkeypatch.setattr(locks, "_redis_client", lambda: None)
    _lock_excludes_a_second_holder()
    ready, go = os.pipe()
    child = os.fork()
    if child == 0:  # the "worker": takes the lock, says so, and hangs until killed
        try:
            with key_lock("k-held", wait=1):
                os.write(go, b"x")
                signal.pause()
        finally:
            os._exit(0)
    try:
        assert os.read(ready, 1) == b"x"
        with pytest.raises(LockBusy), key_lock("k-held", wait=0.2):
            pass
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    with key_lock("k-held", wait=0.5):  # no TTL to wait out: the dead holder's lock is gone
        pass


@pytest.mark.redis
def test_the_key_lock_on_redis(redis_url, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    from django.core.cache import caches

    from trading.services.locks import _redis_client

    assert _redis_client() is not None, caches["default"]
    _lock_excludes_a_second_holder()

"""Rate-limit counters in process memory (no Redis): one locked step, same stored counts."""

import threading
import time

import pytest
from django.core.cache import caches
from django.test import override_settings

from paper import ratelimit
from paper.cache import PaperLocMemCache
from paper.errors import PaperError

LOCAL = {"BACKEND": "paper.cache.PaperLocMemCache", "LOCATION": "paper-counters-test"}


@pytest.fixture
def local_cache():
    with override_settings(CACHES={"default": LOCAL, "paper": LOCAL}):
        cache = caches["paper"]
        cache.clear()
        yield cache
        cache.clear()


def test_a_window_starts_at_the_first_amount_then_adds_up(local_cache):
    assert local_cache.incr_or_add("w", 3, 60) == 3
    assert local_cache.incr_or_add("w", 2, 60) == 5
    # Stored exactly as add() and incr() store it: the cache's own reads see the count.
    assert local_cache.get("w") == 5
    assert local_cache.incr("w", 1) == 6
    local_cache.clear()
    assert local_cache.incr_or_add("w", 1, 60) == 1


def test_an_expired_window_starts_again(local_cache):
    local_cache.incr_or_add("w", 7, 1)
    local_cache._expire_info[local_cache.make_key("w")] = time.time() - 1
    assert local_cache.incr_or_add("w", 1, 60) == 1
    assert local_cache.get("w") == 1


def test_the_limiter_counts_through_one_instance_for_every_thread(local_cache):
    assert isinstance(ratelimit._process.get(), PaperLocMemCache)

    def charge():
        for _ in range(50):
            ratelimit.weight_charge(scope="ip", ident="192.0.2.9", weight=2, now_ms=60_000)

    threads = [threading.Thread(target=charge) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Counted in the paper cache, where each thread's caches["paper"] sees it (and clears it).
    assert caches["paper"].get("paper:rl:ip:192.0.2.9:1") == 400


def test_past_the_limit_the_answer_is_429_with_retry_after(local_cache):
    limits = {"ip_weight_per_minute": 10, "key_weight_per_minute": 10, "orders_per_10s": 1}
    with override_settings(PAPER_RATE_LIMITS=limits):
        assert ratelimit.weight_charge(scope="key", ident="7", weight=10, now_ms=61_500) == 10
        with pytest.raises(PaperError) as weight:
            ratelimit.weight_charge(scope="key", ident="7", weight=1, now_ms=61_500)
        ratelimit.order_count_charge(account_id=7, now_ms=12_000)
        with pytest.raises(PaperError) as orders:
            ratelimit.order_count_charge(account_id=7, now_ms=12_000)
    assert (weight.value.status, weight.value.code, weight.value.retry_after) == (429, -1003, 59)
    assert (orders.value.status, orders.value.code, orders.value.retry_after) == (429, -1015, 8)


def test_another_backend_is_used_through_the_cache_api():
    other = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "plain"}
    with override_settings(CACHES={"default": other, "paper": other}):
        caches["paper"].clear()
        assert ratelimit._process.get() is None
        assert ratelimit.weight_charge(scope="ip", ident="x", weight=4, now_ms=0) == 4
        assert ratelimit.weight_charge(scope="ip", ident="x", weight=4, now_ms=0) == 8
        assert caches["paper"].get("paper:rl:ip:x:0") == 8
        caches["paper"].clear()

"""A per-(exchange, key) mutex for order writes: Redis lock when Redis is the cache, else cache.add.

The database claim is what makes a send happen once; this lock only serialises one key's writes
(Kraken nonces need it) and paces them. It has a TTL, so a killed worker cannot hold it forever.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager, suppress

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import LockError


class LockBusy(Exception):
    """Another worker holds this key's lock; try again shortly."""


def _redis_client():
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return backend._cache.get_client(write=True)
    return None


@contextmanager
def key_lock(key_id, *, ttl: float = 30.0, wait: float = 10.0):
    """Hold the write lock of one exchange key for the duration of the block."""
    name = f"keytrade:key-lock:{key_id}"
    client = _redis_client()
    if client is not None:
        lock = client.lock(name, timeout=ttl, blocking_timeout=wait)
        if not lock.acquire():
            raise LockBusy(name)
        try:
            yield
        finally:
            with suppress(LockError):  # expired meanwhile: the TTL already freed it
                lock.release()
        return
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while not cache.add(name, token, timeout=int(ttl) or 1):
        if time.monotonic() >= deadline:
            raise LockBusy(name)
        time.sleep(0.05)
    try:
        yield
    finally:
        if cache.get(name) == token:
            cache.delete(name)

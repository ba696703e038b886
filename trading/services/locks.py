"""A per-(exchange, key) mutex for order writes: a Redis lock with Redis, else a host file lock.

The database claim is what makes a send happen once; this lock only serialises one key's writes
(Kraken nonces need it) and paces them. Neither kind can be held forever by a dead worker: the
Redis lock has a TTL, and the operating system drops a file lock when its holder process dies.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import LockError


class LockBusy(Exception):
    """Another worker holds this key's lock; try again shortly."""


def _redis_client():
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return backend._cache.get_client(write=True)
    return None


@cache
def _lock_dir(var_dir: str) -> Path:
    path = Path(var_dir) / "locks"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@cache
def _lock_path(var_dir: str, name: str) -> str:
    return str(_lock_dir(var_dir) / f"{name}.lock")


@contextmanager
def _host_lock(name: str, *, wait: float):
    # Without Redis, keytrade runs on one host (filesystem broker, file cache), so an flock()
    # on a file in VAR_DIR excludes every worker process and thread there. It costs one open()
    # instead of the file cache's write, read and delete per order.
    fd = os.open(_lock_path(str(settings.VAR_DIR), name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(name) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def key_lock(key_id, *, ttl: float = 30.0, wait: float = 10.0):
    """Hold the write lock of one exchange key for the duration of the block."""
    client = _redis_client()
    if client is None:
        with _host_lock("key-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(key_id)), wait=wait):
            yield
        return
    lock = client.lock(f"keytrade:key-lock:{key_id}", timeout=ttl, blocking_timeout=wait)
    if not lock.acquire():
        raise LockBusy(f"keytrade:key-lock:{key_id}")
    try:
        yield
    finally:
        with suppress(LockError):  # expired meanwhile: the TTL already freed it
            lock.release()

"""The paper exchange's process-local cache: LocMemCache with a one-step counter."""

import pickle

from django.core.cache.backends.locmem import LocMemCache


class PaperLocMemCache(LocMemCache):
    """LocMemCache (process memory, used when there is no Redis) whose rate-limit counters
    take one locked step instead of `incr`, a ValueError and `add`.

    `incr_or_add` stores exactly what `add` and `incr` store (the pickled count, the
    timeout from when the window's first request added it), so `get`, `incr` and `clear`
    see the same counters as before. Its key is not checked for memcached compatibility
    (that check only warns, character by character); the rate-limit keys are the paper
    exchange's own.
    """

    def incr_or_add(self, key: str, delta: int, timeout: int) -> int:
        """Add delta to key's count, or start it at delta for `timeout` seconds; -> count."""
        key = self.make_key(key)
        with self._lock:
            if self._has_expired(key):  # absent, or its window's timeout passed
                self._delete(key)  # as incr() does before add() starts the window
                self._set(key, pickle.dumps(delta, self.pickle_protocol), timeout)
                return delta
            value = pickle.loads(self._cache[key]) + delta  # noqa: S301 - our own pickles
            self._cache[key] = pickle.dumps(value, self.pickle_protocol)
            self._cache.move_to_end(key, last=False)
            return value

"""Request-weight and order-count limits, counted in the shared cache (Binance-style windows)."""

from django.conf import settings
from django.core.cache import caches
from django.utils.module_loading import import_string

from paper.cache import PaperLocMemCache
from paper.errors import PaperError

ORDER_WINDOW_MS = 10_000
WEIGHT_WINDOW_MS = 60_000


class _ProcessCounters:
    """The paper cache's backend, created once per process, when it is process memory.

    `caches["paper"]` gives each thread its own backend (a lookup in thread-local storage
    on every call); a PaperLocMemCache keeps its counters in storage its instances share,
    under its own lock, so one instance serves every thread of the process.
    """

    def __init__(self):
        self._settings = None
        self.cache = None

    def get(self) -> PaperLocMemCache | None:
        conf = settings.CACHES["paper"]
        if conf is not self._settings:  # first call, or the settings changed (tests)
            backend = import_string(conf["BACKEND"])
            shared = isinstance(backend, type) and issubclass(backend, PaperLocMemCache)
            self.cache = caches.create_connection("paper") if shared else None
            self._settings = conf
        return self.cache


_process = _ProcessCounters()


def _add(key: str, amount: int, timeout_s: int) -> int:
    local = _process.get()
    if local is not None:
        return local.incr_or_add(key, amount, timeout_s)
    cache = caches["paper"]
    # incr() is atomic on Redis (approximate on the file cache); add() starts a new window.
    try:
        return cache.incr(key, amount)
    except ValueError:
        if cache.add(key, amount, timeout=timeout_s):
            return amount
        return cache.incr(key, amount)


def _retry_after(now_ms: int, window_ms: int) -> int:
    return max(1, -(-(window_ms - now_ms % window_ms) // 1000))


def weight_charge(*, scope: str, ident: str, weight: int, now_ms: int) -> int:
    """Add a request's weight to this minute's counter for an IP or key; 429 past the limit."""
    window = now_ms // WEIGHT_WINDOW_MS
    limit = settings.PAPER_RATE_LIMITS[f"{scope}_weight_per_minute"]
    used = _add(f"paper:rl:{scope}:{ident}:{window}", weight, 120)
    if used > limit:
        raise PaperError.too_much_weight(limit, _retry_after(now_ms, WEIGHT_WINDOW_MS))
    return used


def order_count_charge(*, account_id: int, now_ms: int) -> None:
    """Count a new order against the account's 10-second order limit."""
    window = now_ms // ORDER_WINDOW_MS
    limit = settings.PAPER_RATE_LIMITS["orders_per_10s"]
    if _add(f"paper:rl:orders:{account_id}:{window}", 1, 30) > limit:
        raise PaperError.too_many_orders(limit, _retry_after(now_ms, ORDER_WINDOW_MS))

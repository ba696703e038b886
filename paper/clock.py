"""The exchange's two clocks: the simulated market clock and the server clock used for auth."""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from paper.models import SimClock

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Now:
    """One reading of both clocks, taken once per request so a request sees one instant."""

    market_ms: int  # drives prices, candles, order and trade times; freezable by test controls
    server_ms: int  # the exchange's own clock (wall clock plus injected skew): /time, recvWindow
    frozen: bool = False
    faults_armed: bool = False

    @property
    def minute(self) -> int:
        return self.market_ms // MINUTE_MS


def wall_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def clock_read() -> Now:
    """Read the simulated clock row (absent, or test controls off = real time)."""
    wall = wall_ms()
    if not settings.PAPER_TEST_CONTROLS:  # nothing can move the clock: skip the query
        return Now(market_ms=wall, server_ms=wall)
    row = (
        SimClock.objects.filter(pk=1)
        .values_list("frozen_ms", "offset_ms", "skew_ms", "faults_armed")
        .first()
    )
    if row is None:
        return Now(market_ms=wall, server_ms=wall)
    frozen_ms, offset_ms, skew_ms, faults_armed = row
    market_ms = frozen_ms if frozen_ms is not None else wall + offset_ms
    return Now(market_ms, wall + skew_ms, frozen_ms is not None, faults_armed)

"""Test controls: the simulated clock, pinned prices and injected faults (all in the DB)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from paper.clock import clock_read, wall_ms
from paper.feed import Feed, spec_for
from paper.models import Fault, PriceAnchor, SimClock


def _clock() -> SimClock:
    clock, _ = SimClock.objects.select_for_update().get_or_create(pk=1)
    return clock


@transaction.atomic
def clock_freeze(*, at_ms: int | None = None) -> int:
    """Stop the market clock (at now, or at a given instant); return the frozen time."""
    clock = _clock()
    clock.frozen_ms = at_ms if at_ms is not None else clock_read().market_ms
    clock.save()
    return clock.frozen_ms


@transaction.atomic
def clock_advance(*, seconds: float) -> int:
    """Move the market clock forward (frozen or running); return the new market time."""
    clock = _clock()
    delta = int(seconds * 1000)
    if clock.frozen_ms is not None:
        clock.frozen_ms += delta
    else:
        clock.offset_ms += delta
    clock.save()
    return clock_read().market_ms


@transaction.atomic
def clock_resume() -> None:
    """Let a frozen clock run again from where it stood."""
    clock = _clock()
    if clock.frozen_ms is not None:
        clock.offset_ms = clock.frozen_ms - wall_ms()
        clock.frozen_ms = None
        clock.save()


@transaction.atomic
def clock_skew(*, ms: int) -> None:
    """Shift the server's own clock (signed-request timestamps, /time) by ms."""
    clock = _clock()
    clock.skew_ms = ms
    clock.save()


def _pin(spec, minute: int, price: Decimal) -> None:
    price = Decimal(price)
    if price <= 0 or price % spec.tick:
        raise ValidationError(f"{spec.symbol} prices are positive multiples of {spec.tick}")
    PriceAnchor.objects.update_or_create(
        symbol=spec.symbol, minute=minute, defaults={"price": price}
    )


def price_set(*, symbol: str, price) -> None:
    """Pin a symbol's price from the current market minute on; the walk continues from it."""
    _pin(spec_for(symbol), clock_read().minute, Decimal(price))


@transaction.atomic
def price_path(*, symbol: str, points: list[tuple[int, Decimal]]) -> int:
    """Move a price along (minutes from now, price) points, linearly per minute; return #pins."""
    spec = spec_for(symbol)
    start = clock_read().minute
    points = sorted((int(m), Decimal(p)) for m, p in points)
    pins = 0
    for (m0, p0), (m1, p1) in zip(points, points[1:], strict=False):
        for m in range(m0, m1):
            price = p0 + (p1 - p0) * (m - m0) / (m1 - m0)
            _pin(spec, start + m, price.quantize(spec.tick))
            pins += 1
    _pin(spec, start + points[-1][0], points[-1][1])
    return pins + 1


def price_move(*, symbol: str, price, minutes: int) -> int:
    """Move a price from where it is now to `price`, linearly over `minutes`."""
    current = Feed.load(symbol, clock_read()).price()
    return price_path(symbol=symbol, points=[(0, current), (minutes, Decimal(price))])


def prices_clear() -> None:
    """Forget all pinned prices (the pure random walk comes back)."""
    PriceAnchor.objects.all().delete()


@transaction.atomic
def fault_add(*, kind: str, endpoint: str = "", method: str = "", value: int = 0, count=None):
    """Inject a fault for an endpoint ("api/v3/order") and method; count None: until cleared."""
    fault = Fault(
        kind=kind,
        endpoint=endpoint.strip("/"),
        method=method.upper(),
        value=value,
        remaining=count,
        created_at=timezone.now(),
    )
    fault.full_clean()
    fault.save()
    clock = _clock()
    clock.faults_armed = True
    clock.save(update_fields=["faults_armed"])
    return fault


@transaction.atomic
def faults_clear() -> None:
    """Remove every injected fault."""
    Fault.objects.all().delete()
    SimClock.objects.filter(pk=1).update(faults_armed=False)


@transaction.atomic
def controls_reset() -> None:
    """Real time, no skew, no pinned prices, no faults."""
    SimClock.objects.all().delete()
    prices_clear()
    faults_clear()

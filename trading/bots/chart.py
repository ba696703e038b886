"""A server-side SVG sparkline of a bot's P&L (no charting library is vendored yet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Sparkline:
    points: str  # the polyline's "x,y x,y ..." in a width x height box
    zero_y: float | None  # where the zero line falls, if it is in range
    low: Decimal
    high: Decimal
    last: Decimal
    width: int
    height: int


def sparkline(
    values: Sequence[Decimal], *, width: int = 600, height: int = 120
) -> Sparkline | None:
    """Scale `values` into an SVG box; None when there are fewer than two."""
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    pad = 4
    step = (width - 2 * pad) / (len(values) - 1)

    def y(value: Decimal) -> float:
        return round(pad + float((high - value) / span) * (height - 2 * pad), 2)

    points = " ".join(f"{round(pad + i * step, 2)},{y(v)}" for i, v in enumerate(values))
    zero = y(Decimal(0)) if low <= 0 <= high else None
    return Sparkline(points, zero, low, high, values[-1], width, height)

"""Daily fill totals: the Fills page's totals and page count without scanning every fill.

fills_record (the one place fills are written) calls fill_totals_rebuild for the days it
touched. A rebuild recomputes those days from the Fill rows themselves, so it is idempotent
and a lost or repeated call is repaired by the next one for that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import ExchangeKey
from trading.models import Fill, FillDailyTotal

UTC = dt.UTC
_ZERO = Value(0, output_field=DecimalField(max_digits=36, decimal_places=18))


def fill_day(executed_at: dt.datetime) -> dt.date:
    """The UTC day a fill is totalled under."""
    return executed_at.astimezone(UTC).date()


def _day_ranges(days: set[dt.date]) -> Q:
    def one(day):
        start = dt.datetime.combine(day, dt.time.min, tzinfo=UTC)
        return Q(executed_at__gte=start, executed_at__lt=start + dt.timedelta(days=1))

    return reduce(or_, (one(day) for day in sorted(days)))


def fill_totals_rebuild(*, key_id, days: Iterable[dt.date] | None = None) -> int:
    """Recompute one key's daily fill totals for `days` (every day when None); return rows."""
    days = None if days is None else set(days)
    if days == set():
        return 0
    fills = Fill.objects.filter(key_id=key_id)
    totals = FillDailyTotal.objects.filter(key_id=key_id)
    if days is not None:
        fills, totals = fills.filter(_day_ranges(days)), totals.filter(day__in=days)
    grouped = (
        fills.annotate(day=TruncDate("executed_at", tzinfo=UTC))
        .values("day", "symbol", "side", "fee_currency")
        .annotate(
            n=Count("id"),
            total_amount=Sum("amount"),
            total_cost=Sum("cost"),
            total_fee=Coalesce(Sum("fee"), _ZERO),
        )
        .order_by()
    )
    with transaction.atomic():
        # Rebuilds of one key take turns, so each sums every fill committed before it began.
        list(ExchangeKey.objects.select_for_update().filter(pk=key_id).values_list("pk"))
        totals.delete()
        rows = FillDailyTotal.objects.bulk_create(
            FillDailyTotal(
                key_id=key_id,
                day=g["day"],
                symbol=g["symbol"],
                side=g["side"],
                fee_currency=g["fee_currency"],
                count=g["n"],
                amount=g["total_amount"],
                cost=g["total_cost"],
                fee=g["total_fee"],
            )
            for g in grouped
        )
    return len(rows)

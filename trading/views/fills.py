"""Fills: filtered, paginated, with totals, a live first page and a streamed CSV export."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from trading.forms_dashboard import FillFilterForm
from trading.models import Fill
from trading.selectors_dashboard import (
    FillsPage,
    bot_filter_field,
    fill_day_counts_for_user,
    fills_filtered,
    fills_summary,
    fills_totals_for_user,
    key_choices_for_user,
)
from trading.views.access import filter_key

PER_PAGE = 50
CSV_COLUMNS = (
    "executed_at",
    "key",
    "exchange",
    "symbol",
    "side",
    "price",
    "amount",
    "cost",
    "fee",
    "fee_currency",
    "taker_or_maker",
    "trade_id",
    "exchange_order_id",
)


def _filtered(request):
    """(form, filters, fills): `fills` returns the filtered fills' queryset when called.

    The pages build it only when they use it (a bot filter, which the written statements do
    not know, and the CSV export): building it through the ORM cost ~0.5 ms of a page.
    """
    form = FillFilterForm(request.GET)
    if not form.is_valid():
        return form, {}, Fill.objects.none
    key = filter_key(request, form.cleaned_data["key"])
    filters = form.selector_kwargs(key)
    return form, filters, lambda: fills_filtered(user=request.user, **filters)


def _key_ids(request, filters: dict, keys=None) -> list:
    if filters.get("key_id"):
        return [filters["key_id"]]
    return [k.pk for k in (keys if keys is not None else key_choices_for_user(user=request.user))]


def _totals_filters(filters: dict) -> dict | None:
    """The filters as the daily totals take them; None when they cannot answer (bot, invalid)."""
    if not filters or filters.get("bot"):
        return None
    return {name: value for name, value in filters.items() if name != "bot"}


def _summary(request, filters: dict, fills) -> dict:
    if filters.get("bot"):  # not in the daily totals: sum the bot's fills themselves
        return fills_summary(fills())
    if not filters:
        return {"per_symbol": [], "fees": [], "count": 0}
    return fills_totals_for_user(user=request.user, **_totals_filters(filters))


def _day_counts(request, filters: dict):
    totals_filters = _totals_filters(filters)
    if totals_filters is None:
        return None
    return lambda: fill_day_counts_for_user(user=request.user, **totals_filters)


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def fills_page(request):
    """List fills page by page, with totals over the whole filtered set."""
    form, filters, fills = _filtered(request)
    summary = _summary(request, filters, fills)
    keys = key_choices_for_user(user=request.user)
    key_ids = _key_ids(request, filters, keys)
    rows = FillsPage(
        fills,
        key_ids=key_ids,
        count=summary["count"],
        day_counts=_day_counts(request, filters),
        user=request.user,
        filters=filters or None,
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "fills": page.object_list,
        "summary": summary,
        "keys": keys,
        "has_bots": bot_filter_field() is not None,
        "query": _query_without_page(request),
    }
    return render(request, "trading/fills.html", context, status=400 if form.errors else 200)


@login_required
def fills_live(request):
    """The first page's rows alone (polled by htmx every 5 s, so new fills appear)."""
    _, filters, fills = _filtered(request)
    key_ids = _key_ids(request, filters)
    page = FillsPage(
        fills, key_ids=key_ids, count=PER_PAGE, user=request.user, filters=filters or None
    )
    rows = page[0:PER_PAGE]
    return render(request, "trading/_fills_rows.html", {"fills": rows})


class _Echo:
    def write(self, value):
        return value


def _text(value: str) -> str:
    # A label starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_rows(fills):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for f in fills.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                f.executed_at.isoformat(),
                _text(f.key.label),
                f.key.exchange,
                f.symbol,
                f.side,
                f.price,
                f.amount,
                f.cost,
                "" if f.fee is None else f.fee,
                f.fee_currency,
                f.taker_or_maker,
                f.trade_id,
                f.exchange_order_id,
            ]
        )


@login_required
def fills_csv(request):
    """Stream the filtered fills as CSV (full precision, UTC times)."""
    _, _, fills = _filtered(request)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_csv_rows(fills()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="keytrade-fills-{stamp}.csv"'
    return response

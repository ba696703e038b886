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
    bot_filter_field,
    decorate,
    fills_filtered,
    fills_summary,
    keys_for_user,
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
    form = FillFilterForm(request.GET)
    if not form.is_valid():
        return form, Fill.objects.none()
    key = filter_key(request, form.cleaned_data["key"])
    return form, fills_filtered(user=request.user, **form.selector_kwargs(key))


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def fills_page(request):
    """List fills page by page, with totals over the whole filtered set."""
    form, fills = _filtered(request)
    page = Paginator(fills, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "fills": decorate(page.object_list),
        "summary": fills_summary(fills),
        "keys": keys_for_user(user=request.user),
        "has_bots": bot_filter_field() is not None,
        "query": _query_without_page(request),
    }
    return render(request, "trading/fills.html", context, status=400 if form.errors else 200)


@login_required
def fills_live(request):
    """The first page's rows alone (polled by htmx every 5 s, so new fills appear)."""
    _, fills = _filtered(request)
    return render(request, "trading/_fills_rows.html", {"fills": decorate(fills[:PER_PAGE])})


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
    _, fills = _filtered(request)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_csv_rows(fills), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="keytrade-fills-{stamp}.csv"'
    return response

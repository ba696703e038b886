"""Candle pages: stored series, downloads (queue, progress bar, cancel)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trading.backtest import candles_series_list
from trading.exchange.types import from_ms
from trading.forms_backtests import CandleDownloadForm
from trading.selectors_backtests import (
    candle_download_get_for_user,
    candle_downloads_for_user,
    download_exchanges_for_user,
)
from trading.services.candle_downloads import candle_download_create
from trading.views.access import require_runner
from trading.views.backtests import cancel_response, job_status_response


def _with_span(series: dict) -> dict:
    """A stored series with its first and last candle as UTC datetimes, for the table."""
    first, last = series.get("first_ms"), series.get("last_ms")
    return {
        **series,
        "first": from_ms(first) if first is not None else None,
        "last": from_ms(last) if last is not None else None,
    }


@login_required
@require_http_methods(["GET", "POST"])
def candles_page(request):
    """Stored candle series (shared market data) and the user's downloads; queue a download."""
    if request.method == "POST":
        require_runner(request)
    exchanges = download_exchanges_for_user(user=request.user)
    form = CandleDownloadForm(request.POST or None, exchanges=exchanges)
    if request.method == "POST" and form.is_valid():
        try:
            download = candle_download_create(
                user=request.user,
                request=request,
                allowed_exchanges=exchanges,
                **form.service_kwargs(now=timezone.now()),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("trading:candle_download_detail", id=download.id)
    context = {
        "form": form,
        "series": [_with_span(series) for series in candles_series_list()],
        "downloads": candle_downloads_for_user(user=request.user)[:50],
    }
    return render(request, "trading/backtest_candles.html", context)


@login_required
@require_GET
def candle_download_detail(request, id):
    """One download: its progress bar while it runs, then what it fetched and any gaps."""
    download = candle_download_get_for_user(user=request.user, id=id, request=request)
    gaps = [(from_ms(start), count) for start, count in download.gaps]
    context = {"download": download, "gaps": gaps}
    return render(request, "trading/backtest_download_detail.html", context)


@login_required
@require_GET
def candle_download_status(request, id):
    """The download's progress, polled by the page."""
    download = candle_download_get_for_user(user=request.user, id=id, request=request)
    cancel_url = reverse("trading:candle_download_cancel", args=[download.id])
    return job_status_response(request, download, cancel_url=cancel_url, noun="download")


@login_required
@require_POST
def candle_download_cancel(request, id):
    """Stop a queued or running download (what it stored so far stays)."""
    download = candle_download_get_for_user(user=request.user, id=id, request=request)
    require_runner(request)
    target = reverse("trading:candle_download_detail", args=[download.id])
    return cancel_response(request, download, redirect_to=target, noun="download")

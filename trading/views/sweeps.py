"""Parameter sweep pages: new sweep, results (sortable table, heat map), progress, cancel."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import permission_required_or_403
from trading.backtest import sweep_sort
from trading.forms_backtests import BacktestSetupForm, SweepGridForm
from trading.selectors_backtests import sweep_get_for_user
from trading.services.backtest_reports import (
    HEATMAP_METRICS,
    STAT_LABELS,
    STATS,
    sweep_heatmap,
    sweep_table,
    sweep_varying,
)
from trading.services.backtests import sweep_create
from trading.services.bots import RUN_PERMISSION
from trading.strategies import strategy_registry
from trading.views.access import require_runner
from trading.views.backtests import (
    _strategy_cls,
    cancel_response,
    job_status_response,
    strategy_context,
)


@permission_required_or_403(RUN_PERMISSION)
@require_http_methods(["GET", "POST"])
def sweep_new(request):
    """Pick candles, a strategy and a grid of parameter values; queue the sweep."""
    cls = _strategy_cls(request)
    data = request.POST if request.method == "POST" else None
    setup = BacktestSetupForm(data, initial={"strategy": cls.slug, **request.GET.dict()})
    grid = SweepGridForm(data, strategy_cls=cls, prefix="g")
    if request.method == "POST" and setup.is_valid() and grid.is_valid():
        try:
            sweep = sweep_create(
                user=request.user,
                request=request,
                base_params=grid.cleaned_data["base_params"],
                grid=grid.cleaned_data["grid"],
                **setup.service_kwargs(),
            )
        except ValidationError as exc:
            setup.add_error(None, exc)
        else:
            return redirect("trading:sweep_detail", id=sweep.id)
    context = {"setup": setup, "grid": grid, **strategy_context(cls)}
    return render(request, "trading/backtest_sweep_new.html", context)


def _choice(request, name: str, allowed, default):
    value = request.GET.get(name)
    return value if value in allowed else default


@login_required
@require_GET
def sweep_detail(request, id):
    """A sweep: progress while it runs; then the table (sortable) and a two-parameter heat map."""
    sweep = sweep_get_for_user(user=request.user, id=id, request=request)
    varying = sweep_varying(sweep)
    stat_keys = [key for key, _, _ in STATS]
    sort = _choice(request, "sort", stat_keys, "total_return")
    descending = request.GET.get("dir", "desc") != "asc"
    rows = sweep_sort(list(sweep.rows or []), sort, descending=descending)
    context = {
        "sweep": sweep,
        "params": varying,
        "stats": STATS,
        "sort": sort,
        "sort_label": STAT_LABELS[sort],
        "descending": descending,
        "table": sweep_table(rows, varying),
        "metrics": [(key, STAT_LABELS[key]) for key in HEATMAP_METRICS],
        "strategy_name": getattr(strategy_registry.get(sweep.strategy), "name", sweep.strategy),
    }
    if len(varying) >= 2 and sweep.rows:
        x = _choice(request, "x", varying, varying[0])
        y = _choice(
            request, "y", [v for v in varying if v != x], next(v for v in varying if v != x)
        )
        metric = _choice(request, "metric", HEATMAP_METRICS, "total_return")
        context["heatmap"] = sweep_heatmap(sweep, x=x, y=y, metric=metric)
    return render(request, "trading/backtest_sweep_detail.html", context)


@login_required
@require_GET
def sweep_status(request, id):
    """The sweep's progress, polled by the page."""
    sweep = sweep_get_for_user(user=request.user, id=id, request=request, heavy=False)
    cancel_url = reverse("trading:sweep_cancel", args=[sweep.id])
    return job_status_response(request, sweep, cancel_url=cancel_url, noun="sweep")


@login_required
@require_POST
def sweep_cancel(request, id):
    """Stop a queued or running sweep."""
    sweep = sweep_get_for_user(user=request.user, id=id, request=request, heavy=False)
    require_runner(request)
    return cancel_response(
        request, sweep, redirect_to=reverse("trading:sweep_detail", args=[sweep.id]), noun="sweep"
    )

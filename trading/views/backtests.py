"""Backtest pages: list, new run, results (charts, statistics, trades), compare, cancel.

Every run is loaded through its owner-scoped selector: someone else's id is a 404. Queueing
and cancelling take the role that runs bots (a viewer sees runs but never starts one).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import permission_required_or_403
from trading.forms_backtests import BacktestSetupForm
from trading.selectors_backtests import (
    backtest_get_for_user,
    backtests_for_user,
    sweeps_for_user,
)
from trading.services.backtest_reports import (
    compare_chart_data,
    comparison_rows,
    run_chart_data,
    stats_rows,
    trades_display,
)
from trading.services.backtests import backtest_create
from trading.services.bots import RUN_PERMISSION
from trading.services.jobs import job_cancel
from trading.strategies import strategy_registry
from trading.strategies.forms import StrategyParamsForm
from trading.views.access import can_run, require_runner

MAX_COMPARED = 6


def job_status_response(request, job, *, cancel_url: str, noun: str) -> HttpResponse:
    """The polled status partial; once the job has finished, htmx reloads the whole page."""
    response = render(
        request,
        "trading/_backtest_job_status.html",
        {"job": job, "cancel_url": cancel_url, "noun": noun},
    )
    if job.is_finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


def cancel_response(request, job, *, redirect_to: str, noun: str) -> HttpResponse:
    """Stop a job (the service audits it) and go back to its page."""
    if job_cancel(job=job, user=request.user, request=request):
        messages.info(request, f"The {noun} is stopping.")
    else:
        messages.info(request, f"The {noun} had already finished.")
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to  # a full page load shows the message
        return response
    return redirect(redirect_to)


def strategy_context(cls) -> dict:
    """The chosen strategy and the choices, as plain dicts: templates call a class they are
    given (instantiating a strategy with no arguments), so `cls.name` would render empty."""

    def about(strategy_cls) -> dict:
        return {k: getattr(strategy_cls, k) for k in ("slug", "name", "description")}

    return {
        "strategy": about(cls),
        "strategies": {slug: about(c) for slug, c in strategy_registry.items()},
    }


def _strategy_cls(request):
    slug = request.POST.get("strategy") or request.GET.get("strategy") or "sma_crossover"
    if slug not in strategy_registry:
        raise Http404("No such strategy.")
    return strategy_registry[slug]


@login_required
@require_GET
def backtest_list(request):
    """The user's runs (pick several to compare) and sweeps."""
    context = {
        "runs": backtests_for_user(user=request.user)[:100],
        "sweeps": sweeps_for_user(user=request.user)[:50],
    }
    return render(request, "trading/backtest_list.html", context)


@permission_required_or_403(RUN_PERMISSION)
@require_http_methods(["GET", "POST"])
def backtest_new(request):
    """Pick candles, a strategy and its parameters; queue the run."""
    cls = _strategy_cls(request)
    data = request.POST if request.method == "POST" else None
    setup = BacktestSetupForm(data, initial={"strategy": cls.slug, **request.GET.dict()})
    params = StrategyParamsForm(data, strategy_cls=cls, prefix="p")
    if request.method == "POST" and setup.is_valid() and params.is_valid():
        try:
            run = backtest_create(
                user=request.user,
                request=request,
                params=params.cleaned_data["params"],
                **setup.service_kwargs(),
            )
        except ValidationError as exc:
            setup.add_error(None, exc)
        else:
            return redirect("trading:backtest_detail", id=run.id)
    context = {"setup": setup, "params": params, **strategy_context(cls)}
    return render(request, "trading/backtest_new.html", context)


@login_required
@require_GET
def backtest_detail(request, id):
    """A run: progress while it runs; then statistics, charts and trades."""
    run = backtest_get_for_user(user=request.user, id=id, request=request)
    result = run.result or {}
    context = {
        "run": run,
        "stats": stats_rows(run.summary),
        "trades": trades_display(result.get("trades", [])),
        "trades_total": result.get("trades_total", 0),
        "strategy_name": getattr(strategy_registry.get(run.strategy), "name", run.strategy),
        "can_run_bots": can_run(request.user),
    }
    return render(request, "trading/backtest_detail.html", context)


@login_required
@require_GET
def backtest_status(request, id):
    """The run's progress, polled by the page."""
    run = backtest_get_for_user(user=request.user, id=id, request=request, heavy=False)
    cancel_url = reverse("trading:backtest_cancel", args=[run.id])
    return job_status_response(request, run, cancel_url=cancel_url, noun="backtest")


@login_required
@require_GET
def backtest_chart(request, id):
    """Equity, candles and trade markers of a finished run, for the charts."""
    run = backtest_get_for_user(user=request.user, id=id, request=request)
    return JsonResponse(run_chart_data(run))


@login_required
@require_POST
def backtest_cancel(request, id):
    """Stop a queued or running backtest."""
    run = backtest_get_for_user(user=request.user, id=id, request=request, heavy=False)
    require_runner(request)
    return cancel_response(
        request, run, redirect_to=reverse("trading:backtest_detail", args=[run.id]), noun="backtest"
    )


def _compared(request) -> list:
    try:
        ids = [uuid.UUID(i) for i in dict.fromkeys(request.GET.getlist("run"))][:MAX_COMPARED]
    except ValueError:
        raise Http404("No such backtest.") from None
    return [backtest_get_for_user(user=request.user, id=i, request=request) for i in ids]


@login_required
@require_GET
def backtest_compare(request):
    """Several runs side by side: statistics table and overlaid equity."""
    runs = _compared(request)
    if len(runs) < 2:
        messages.info(request, "Tick two or more finished runs to compare them.")
        return redirect("trading:backtest_list")
    context = {"runs": runs, "rows": comparison_rows(runs), "query": request.GET.urlencode()}
    return render(request, "trading/backtest_compare.html", context)


@login_required
@require_GET
def backtest_compare_chart(request):
    """The compared runs' equity curves as returns in percent."""
    return JsonResponse(compare_chart_data(_compared(request)))

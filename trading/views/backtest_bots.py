"""Backtests and bots: create a dry-run bot from a run; a bot's fills next to the backtest's."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from trading.bots.forms import BotForm
from trading.bots.models import Bot
from trading.bots.selectors import bot_get_for_user
from trading.exchange.types import from_ms
from trading.forms_backtests import ReportForm
from trading.selectors_backtests import backtest_get_for_user
from trading.services.backtest_compare import bot_backtest_report
from trading.services.bots import BotRefused, bot_create
from trading.strategies import strategy_registry
from trading.views.access import require_runner


@login_required
@require_http_methods(["GET", "POST"])
def backtest_bot_create(request, id):
    """Create a bot with this run's strategy and parameters, in dry-run mode."""
    run = backtest_get_for_user(user=request.user, id=id, request=request)
    require_runner(request)
    if run.status != run.Status.DONE:
        raise Http404("Only a finished backtest can become a bot.")
    strategy_name = getattr(strategy_registry.get(run.strategy), "name", run.strategy)
    initial = {"symbol": run.symbol, "name": f"{strategy_name} {run.symbol} (from backtest)"}
    form = BotForm(request.POST or None, user=request.user, initial=initial)
    del form.fields["mode"]  # always a dry run first; going live is a separate, confirmed step
    # Suggest a key on the exchange the backtest's candles came from, one that can trade first.
    suggested = (
        form.fields["key"]
        .queryset.filter(exchange=run.exchange)
        .order_by("-scope_trade", "label")
        .first()
    )
    if suggested is not None:
        form.fields["key"].initial = suggested.pk
    if request.method == "POST" and form.is_valid():
        try:
            bot = bot_create(
                user=request.user,
                request=request,
                strategy=run.strategy,
                params=run.params,
                mode=Bot.Mode.DRY_RUN,
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except BotRefused as exc:
            form.add_error(None, exc.reason)
        else:
            messages.success(request, f"Created “{bot.name}” in dry-run mode. Start it when ready.")
            return redirect("trading:bot_detail", id=bot.id)
    context = {"run": run, "form": form, "strategy_name": strategy_name}
    return render(request, "trading/backtest_bot_create.html", context)


def _first_buy_value(bot: Bot) -> Decimal:
    first = bot.trades.order_by("ts", "id").filter(side="buy").first()
    return (first.amount * first.price).quantize(Decimal("0.01")) if first else Decimal(10_000)


@login_required
@require_GET
def bot_vs_backtest(request, id):
    """A bot's actual fills next to what the backtest engine does over the same period."""
    bot = bot_get_for_user(user=request.user, id=id, request=request)
    defaults = {"cash": _first_buy_value(bot), "fee_rate": settings.BOTS_DRY_RUN_FEE_RATE}
    form = ReportForm(request.GET if "cash" in request.GET else None, initial=defaults)
    values = form.cleaned_data if form.is_bound and form.is_valid() else defaults
    report = bot_backtest_report(bot=bot, starting_cash=values["cash"], fee_rate=values["fee_rate"])
    for row in report.get("rows", []):
        row["when"] = from_ms(row["ms"])
    context = {"bot": bot, "form": form, "report": report}
    if "since_ms" in report:
        context["since"], context["until"] = (
            from_ms(report["since_ms"]),
            from_ms(report["until_ms"]),
        )
    return render(request, "trading/backtest_bot_report.html", context)

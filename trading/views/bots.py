"""Bot pages: list, create, detail (htmx-polled), start, pause, stop, stop everything."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import permission_required_or_403
from trading.bots import selectors
from trading.bots.chart import sparkline
from trading.bots.forms import BotForm, BotStartForm, BotStopForm
from trading.services.bots import (
    RUN_PERMISSION,
    BotRefused,
    bot_create,
    bot_live_requirements,
    bot_pause,
    bot_start,
    bot_stop,
    bots_stop_all,
)
from trading.strategies import strategy_registry
from trading.strategies.forms import StrategyParamsForm
from trading.views.access import require_runner

GET_POST = require_http_methods(["GET", "POST"])


def _polled(request) -> bool:
    """True for htmx's polling requests, which get only the changing part of the page."""
    return request.headers.get("HX-Request") == "true"


@login_required
@require_GET
def bot_list(request):
    """List the user's bots with their status and P&L."""
    bots = selectors.bots_for_user(user=request.user)
    template = "trading/_bot_rows.html" if _polled(request) else "trading/bot_list.html"
    return render(request, template, {"bots": bots})


def _about(strategy_cls) -> dict:
    # Templates call callables, so they get a strategy's description, not its class.
    return {k: getattr(strategy_cls, k) for k in ("slug", "name", "description")}


@permission_required_or_403(RUN_PERMISSION)
@GET_POST
def bot_create_view(request):
    """Create a bot: pick a strategy, then its parameters, risk limits and mode."""
    strategy_cls = strategy_registry.get(request.GET.get("strategy", ""))
    if strategy_cls is None:
        strategies = [_about(cls) for cls in strategy_registry.values()]
        return render(request, "trading/bot_strategy_pick.html", {"strategies": strategies})
    data = request.POST if request.method == "POST" else None
    form = BotForm(data, user=request.user)
    params = StrategyParamsForm(data, strategy_cls=strategy_cls, prefix="p")
    if request.method == "POST" and form.is_valid() and params.is_valid():
        try:
            bot = bot_create(
                user=request.user,
                request=request,
                strategy=strategy_cls.slug,
                params=params.cleaned_data["params"],
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except BotRefused as exc:
            form.add_error(None, exc.reason)
        else:
            messages.success(request, f"Created “{bot.name}”. It is stopped until you start it.")
            return redirect("trading:bot_detail", id=bot.id)
    context = {"form": form, "params": params, "strategy": _about(strategy_cls)}
    return render(request, "trading/bot_create.html", context)


def _detail_context(bot) -> dict:
    snapshots = selectors.bot_snapshots(bot=bot)
    return {
        "bot": bot,
        "events": selectors.bot_events(bot=bot),
        "trades": selectors.bot_trades(bot=bot),
        "orders": selectors.bot_orders(bot=bot),
        "sim_orders": (bot.sim or {}).get("orders", {}),
        "sim_balances": (bot.sim or {}).get("balances", {}),
        "chart": sparkline([s.total_pnl for s in snapshots]),
    }


@login_required
@require_GET
def bot_detail(request, id):
    """Show one bot: status, parameters, P&L, orders, fills, chart and event log."""
    bot = selectors.bot_get_for_user(user=request.user, id=id, request=request)
    template = "trading/_bot_live.html" if _polled(request) else "trading/bot_detail.html"
    return render(request, template, _detail_context(bot))


@login_required
@GET_POST
def bot_start_view(request, id):
    """Confirm, then start the bot (going live asks for explicit confirmation)."""
    bot = selectors.bot_get_for_user(user=request.user, id=id, request=request)
    require_runner(request)
    form = BotStartForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            bot_start(
                bot=bot,
                actor=request.user,
                request=request,
                confirm_live=form.cleaned_data["confirm_live"],
            )
        except BotRefused as exc:
            messages.error(request, exc.reason)
        else:
            messages.success(request, f"Started “{bot.name}”.")
            return redirect("trading:bot_detail", id=bot.id)
    missing = bot_live_requirements(bot=bot, user=request.user) if bot.is_live else []
    return render(request, "trading/bot_start.html", {"bot": bot, "form": form, "missing": missing})


@login_required
@require_POST
def bot_pause_view(request, id):
    """Pause the bot; its open orders stay."""
    bot = selectors.bot_get_for_user(user=request.user, id=id, request=request)
    require_runner(request)
    try:
        bot_pause(bot=bot, actor=request.user, request=request)
    except BotRefused as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, f"Paused “{bot.name}”.")
    return redirect("trading:bot_detail", id=bot.id)


@login_required
@GET_POST
def bot_stop_view(request, id):
    """Confirm, then stop the bot (cancelling its open orders unless unticked)."""
    bot = selectors.bot_get_for_user(user=request.user, id=id, request=request)
    require_runner(request)
    form = BotStopForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        bot_stop(
            bot=bot,
            actor=request.user,
            request=request,
            cancel_orders=form.cleaned_data["cancel_orders"],
        )
        messages.success(request, f"Stopped “{bot.name}”.")
        return redirect("trading:bot_detail", id=bot.id)
    return render(request, "trading/bot_stop.html", {"bot": bot, "form": form})


@permission_required_or_403(RUN_PERMISSION)
@GET_POST
def bots_stop_all_view(request):
    """Confirm, then stop every bot of the user and cancel the bots' open orders."""
    if request.method == "POST":
        stopped = bots_stop_all(user=request.user, request=request)
        messages.success(request, f"Stopped {stopped} bots and asked to cancel their open orders.")
        return redirect("trading:bot_list")
    running = selectors.bots_for_user(user=request.user).filter(status__in=["running", "paused"])
    return render(request, "trading/bots_stop_all.html", {"count": running.count()})

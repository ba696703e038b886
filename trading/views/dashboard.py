"""The overview (home for a logged-in user), its live partial, Refresh, and account limits."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from trading.forms_dashboard import LimitsForm, QuoteForm
from trading.selectors_dashboard import (
    QUOTES,
    decorate,
    fills_today_for_user,
    key_health_for_user,
    keys_for_user,
    open_order_rows_for_user,
    pending_intents_for_user,
    portfolio_for_user,
)
from trading.services.dashboard import dashboard_refresh, limits_change
from trading.services.limits import limits_effective
from trading.views.access import can_trade, require_trader

LIVE_ROWS = 20


def _live_context(user) -> dict:
    open_orders = open_order_rows_for_user(user=user, limit=LIVE_ROWS)
    fills_today = fills_today_for_user(user=user, limit=LIVE_ROWS, decimals=False)
    pending = pending_intents_for_user(user=user, decimals=False)
    decorate([*open_orders, *fills_today, *pending])  # one query for the three tables
    return {
        "open_orders": open_orders,
        "fills_today": fills_today,
        "pending": pending,
        "can_trade": can_trade(user),
    }


@login_required
def overview(request):
    """Total value, balances per key and asset, open orders, today's fills, key warnings."""
    quote = QuoteForm(request.GET).quote_or_default()
    keys = keys_for_user(user=request.user)
    context = {
        "portfolio": portfolio_for_user(user=request.user, quote=quote, keys=keys),
        "health": key_health_for_user(user=request.user, keys=keys),
        "quotes": QUOTES,
        "quote": quote,
        **_live_context(request.user),
    }
    return render(request, "trading/overview.html", context)


@login_required
def overview_balances(request):
    """The overview's total value and balances (polled by htmx every 10 s)."""
    quote = QuoteForm(request.GET).quote_or_default()
    # The keys read apart (written statements) cost less than balances joined to their keys
    # through the ORM, though one query more.
    keys = keys_for_user(user=request.user)
    context = {
        "portfolio": portfolio_for_user(user=request.user, quote=quote, keys=keys),
        "quote": quote,
        "oob": True,
    }
    return render(request, "trading/_overview_balances.html", context)


@login_required
def overview_live(request):
    """The overview's open orders and today's fills (polled by htmx every 5 s)."""
    return render(request, "trading/_overview_live.html", _live_context(request.user))


@login_required
@require_POST
def overview_refresh(request):
    """Queue a sync of balances, orders and fills (then prices) for the user's keys."""
    quote = QuoteForm(request.POST).quote_or_default()
    count = dashboard_refresh(user=request.user, quote=quote)
    if count:
        messages.info(request, f"Refreshing {count} key(s): new data appears within moments.")
    else:
        messages.warning(request, "No active key that may read: connect or enable one first.")
    return redirect(f"{reverse('trading:overview')}?quote={quote}")


@login_required
@require_http_methods(["GET", "POST"])
def limits_page(request):
    """Show the limits in force; let a trader tighten their own within the admin's ceiling."""
    effective = limits_effective(user=request.user)
    row = getattr(request.user, "trading_limits", None)
    form = LimitsForm(request.POST or None, initial=_limits_initial(row))
    if request.method == "POST":
        require_trader(request)
        if form.is_valid():
            try:
                limits_change(user=request.user, request=request, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Saved your limits.")
                return redirect("trading:limits")
    context = {
        "form": form,
        "effective": effective,
        "row": row,
        "allowed": sorted(effective.allowed_symbols),
        "can_trade": can_trade(request.user),
    }
    return render(request, "trading/limits.html", context, status=400 if form.errors else 200)


def _limits_initial(row) -> dict:
    if row is None:
        return {}
    return {
        "max_order_notional": row.max_order_notional,
        "max_orders_per_minute": row.max_orders_per_minute,
        "allowed_symbols": "\n".join(row.allowed_symbols or []),
    }

"""The paper exchange's own web pages: dashboard and API-key management."""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from paper import market
from paper.clock import clock_read
from paper.feed import Feed
from paper.forms import KeyForm
from paper.selectors import (
    key_get_for_user,
    keys_for_account,
    open_orders_for_account,
    recent_trades_for_account,
)
from paper.services.accounts import account_get_or_create, account_reset_balances
from paper.services.keys import key_create, key_delete, key_set_enabled, key_update
from paper.services.resting import orders_evaluate


def _ticker_row(feed: Feed) -> dict:
    """A 24h ticker with prices at the market's own precision (its tick size)."""
    ticker = feed.ticker_24hr()
    row = {"symbol": feed.spec.unified, "up": not ticker["priceChange"].startswith("-")}
    row["change_pct"] = Decimal(ticker["priceChangePercent"]).quantize(Decimal("0.01"))
    for name in ("lastPrice", "highPrice", "lowPrice"):
        row[name] = Decimal(ticker[name]).quantize(feed.spec.tick)
    row["volume"] = Decimal(ticker["volume"]).quantize(feed.spec.step)
    return row


@login_required
def home(request):
    """Show the user's paper balances, prices, open orders and recent trades."""
    account = account_get_or_create(user=request.user)
    now = clock_read()
    orders_evaluate(account_id=account.pk, now=now)
    tickers = [_ticker_row(Feed.load(symbol, now)) for symbol in market.SYMBOLS]
    context = {
        "account": account,
        "balances": account.balances.order_by("asset"),
        "tickers": tickers,
        "open_orders": open_orders_for_account(account=account)[:50],
        "trades": recent_trades_for_account(account=account),
        "now": now,
        "controls_enabled": settings.PAPER_TEST_CONTROLS,
    }
    return render(request, "paper/home.html", context)


@login_required
def reset_balances(request):
    """Confirm, then cancel all open orders and restore the starting balances."""
    account = account_get_or_create(user=request.user)
    if request.method != "POST":
        return render(request, "paper/reset_confirm.html", {"account": account})
    canceled = account_reset_balances(account=account, now_ms=clock_read().market_ms)
    messages.success(request, f"Balances reset; {canceled} open order(s) canceled.")
    return redirect("paper:home")


@login_required
def keys(request):
    """List the user's API keys and create one (its secret is shown on this answer only)."""
    account = account_get_or_create(user=request.user)
    form = KeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        key, secret = key_create(
            account=account,
            label=form.cleaned_data["label"],
            can_trade=form.cleaned_data["can_trade"],
            can_withdraw=form.cleaned_data["can_withdraw"],
            ip_whitelist=form.cleaned_data["ip_whitelist"],
            expires_at=form.expires_at(),
        )
        created = {"key": key, "secret": secret}
        form = KeyForm()
    context = {"keys": keys_for_account(account=account), "form": form, "created": created}
    response = render(request, "paper/keys.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def key_edit(request, public_id):
    """Change a key's label, permissions, IP restriction or expiry."""
    key = key_get_for_user(user=request.user, public_id=public_id)
    form = KeyForm(request.POST) if request.method == "POST" else KeyForm.for_key(key)
    if request.method == "POST" and form.is_valid():
        key_update(
            key=key,
            label=form.cleaned_data["label"],
            can_trade=form.cleaned_data["can_trade"],
            can_withdraw=form.cleaned_data["can_withdraw"],
            ip_whitelist=form.cleaned_data["ip_whitelist"],
            expires_at=form.expires_at(),
        )
        messages.success(request, f"Key {key.fingerprint} updated.")
        return redirect("paper:keys")
    return render(request, "paper/key_edit.html", {"key": key, "form": form})


@login_required
@require_POST
def key_toggle(request, public_id):
    """Disable an enabled key, or enable a disabled one."""
    key = key_get_for_user(user=request.user, public_id=public_id)
    key_set_enabled(key=key, enabled=not key.is_enabled)
    state = "enabled" if key.is_enabled else "disabled"
    messages.success(request, f"Key {key.fingerprint} {state}.")
    return redirect("paper:keys")


@login_required
def key_delete_view(request, public_id):
    """Confirm, then delete a key."""
    key = key_get_for_user(user=request.user, public_id=public_id)
    if request.method != "POST":
        return render(request, "paper/key_delete.html", {"key": key})
    fingerprint = key.fingerprint
    key_delete(key=key)
    messages.success(request, f"Key {fingerprint} deleted.")
    return redirect("paper:keys")

"""The market page: candle chart with the user's fills, order book, and a manual order ticket.

Nothing here reaches the exchange: the page reads stored market data and queues a refresh
(at most one per few seconds per symbol); the chart and the book poll for what it brings.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.selectors import key_get_for_user
from trading.forms_dashboard import OrderTicketForm
from trading.selectors_dashboard import (
    candles_for,
    chart_fills_for_user,
    keys_for_user,
    market_snapshot,
    order_estimate,
)
from trading.services.dashboard import market_refresh_queue
from trading.services.market_data import TIMEFRAMES
from trading.services.orders import OrderRefused, order_place
from trading.views.access import can_trade, require_trader, symbol_from_slug

DEFAULT_SYMBOL = "BTC/USDT"


def _market(request, key_id, symbol_slug, timeframe="1h"):
    key = key_get_for_user(user=request.user, id=key_id, request=request)
    symbol = symbol_from_slug(symbol_slug)
    market_refresh_queue(key=key, symbol=symbol, timeframe=timeframe)
    return key, symbol, market_snapshot(exchange=key.exchange, symbol=symbol)


@login_required
def market_pick(request):
    """Pick a key and a symbol, then open its market page."""
    keys = keys_for_user(user=request.user)
    key_id, symbol = request.GET.get("key"), request.GET.get("symbol", "").strip()
    if key_id and symbol:
        key = key_get_for_user(user=request.user, id=key_id, request=request)
        slug = symbol_from_slug(symbol).replace("/", "-")
        return redirect("trading:market", key_id=key.pk, symbol=slug)
    return render(
        request, "trading/market_pick.html", {"keys": keys, "symbol": symbol or DEFAULT_SYMBOL}
    )


def _page(request, key, symbol, snapshot, form, status=200, **extra):
    context = {
        "key": key,
        "symbol": symbol,
        "slug": symbol.replace("/", "-"),
        "form": form,
        "can_trade": can_trade(request.user),
        "timeframes": list(TIMEFRAMES),
        "keys": keys_for_user(user=request.user),
        **snapshot,
        **extra,
    }
    return render(request, "trading/market.html", context, status=status)


@login_required
def market_page(request, key_id, symbol):
    """Chart, order book and order ticket for one symbol on one key."""
    key, symbol, snapshot = _market(request, key_id, symbol)
    return _page(request, key, symbol, snapshot, OrderTicketForm())


@login_required
def market_candles(request, key_id, symbol):
    """Stored candles and the user's fills on this key and symbol, as JSON for the chart."""
    timeframe = request.GET.get("tf", "1h")
    timeframe = timeframe if timeframe in TIMEFRAMES else "1h"
    key, symbol, snapshot = _market(request, key_id, symbol, timeframe)
    candles = candles_for(exchange=key.exchange, symbol=symbol, timeframe=timeframe)
    since = candles[0].opened_at if candles else None
    fills = chart_fills_for_user(user=request.user, key_id=key.pk, symbol=symbol, since=since)
    step = TIMEFRAMES[timeframe]
    return JsonResponse(
        {
            "symbol": symbol,
            "timeframe": timeframe,
            "price_decimals": snapshot["dec"].price,
            "candles": [
                {
                    "time": int(c.opened_at.timestamp()),
                    "open": float(c.open),
                    "high": float(c.high),
                    "low": float(c.low),
                    "close": float(c.close),
                }
                for c in candles
            ],
            "fills": [
                {
                    "time": int(f["executed_at"].timestamp()) // step * step,
                    "side": f["side"],
                    "price": str(f["price"]),
                    "amount": str(f["amount"]),
                }
                for f in reversed(fills)
            ],
        }
    )


@login_required
def market_book(request, key_id, symbol):
    """The order book's best levels and the last price (polled by htmx every 5 s)."""
    key, symbol, snapshot = _market(request, key_id, symbol)
    return render(request, "trading/_book.html", {"key": key, "symbol": symbol, **snapshot})


@login_required
@require_POST
def order_review(request, key_id, symbol):
    """Show the order with its estimated cost and fee; nothing is sent until the user confirms."""
    key, symbol, snapshot = _market(request, key_id, symbol)
    require_trader(request)
    form = OrderTicketForm(request.POST)
    if not form.is_valid():
        return _page(request, key, symbol, snapshot, form, status=400)
    estimate = order_estimate(snapshot=snapshot, **form.cleaned_data)
    context = {
        "key": key,
        "symbol": symbol,
        "slug": symbol.replace("/", "-"),
        "form": form,
        "order": form.cleaned_data,
        "estimate": estimate,
        **snapshot,
    }
    return render(request, "trading/order_review.html", context)


@login_required
@require_POST
def order_confirm(request, key_id, symbol):
    """Place the reviewed order through the order path (queued, sent by a worker)."""
    key, symbol, snapshot = _market(request, key_id, symbol)
    require_trader(request)
    form = OrderTicketForm(request.POST)
    if not form.is_valid():
        return _page(request, key, symbol, snapshot, form, status=400)
    try:
        intent = order_place(
            user=request.user, key=key, symbol=symbol, request=request, **form.cleaned_data
        )
    except OrderRefused as exc:
        form.add_error(None, exc.reason)
        return _page(request, key, symbol, snapshot, form, status=429 if exc.rate_limited else 400)
    messages.success(
        request,
        f"Order queued: {intent.get_side_display().lower()} "
        f"{intent.amount.normalize():f} {symbol}. It appears below once sent.",
    )
    return redirect(f"{reverse('trading:orders')}?key={key.pk}")

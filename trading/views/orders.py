"""Open orders: filter, amend, cancel one, cancel all (each destructive step confirms first)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from trading.forms_dashboard import AmendForm, OrderFilterForm
from trading.selectors import open_orders_for_user
from trading.selectors_dashboard import (
    ORDER_FIELDS,
    decorate,
    keys_for_user,
    order_get_for_user_audited,
    rows_of,
)
from trading.services.dashboard import orders_cancel_all
from trading.services.orders import OrderRefused, order_amend, order_cancel
from trading.views.access import can_trade, filter_key, require_trader

GET_POST = require_http_methods(["GET", "POST"])
MAX_ROWS = 500


def _filtered(request):
    form = OrderFilterForm(request.GET)
    if not form.is_valid():
        return form, None, []
    key = filter_key(request, form.cleaned_data["key"])
    rows = open_orders_for_user(
        user=request.user, key_id=key.pk if key else None, symbol=form.cleaned_data["symbol"]
    )
    return form, key, rows_of(rows[:MAX_ROWS], ORDER_FIELDS)


@login_required
def orders_page(request):
    """List open orders, filtered by key and symbol."""
    form, key, rows = _filtered(request)
    context = {
        "form": form,
        "key": key,
        "orders": rows,
        "keys": keys_for_user(user=request.user),
        "can_trade": can_trade(request.user),
        "query": request.GET.urlencode(),
    }
    return render(request, "trading/orders.html", context, status=400 if form.errors else 200)


@login_required
def orders_live(request):
    """The open-orders table alone (polled by htmx every 5 s)."""
    form, _, rows = _filtered(request)
    context = {"orders": rows, "can_trade": can_trade(request.user)}
    return render(request, "trading/_orders_table.html", context)


@login_required
@GET_POST
def order_cancel_view(request, id):
    """Confirm, then queue the cancellation of one open order."""
    order = order_get_for_user_audited(user=request.user, id=id, request=request)
    require_trader(request)
    error = None
    if request.method == "POST":
        try:
            order_cancel(user=request.user, order=order, request=request)
        except OrderRefused as exc:
            error = exc.reason
        else:
            messages.success(request, f"Cancelling {order.side} {order.symbol} order.")
            return redirect("trading:orders")
    order = decorate([order])[0]
    return render(
        request,
        "trading/order_cancel.html",
        {"order": order, "error": error},
        status=400 if error else 200,
    )


@login_required
@GET_POST
def order_amend_view(request, id):
    """Change an open limit order's price and/or amount."""
    order = order_get_for_user_audited(user=request.user, id=id, request=request)
    require_trader(request)
    form = AmendForm(
        request.POST or None, initial={"price": order.price, "amount": order.remaining}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            order_amend(user=request.user, order=order, request=request, **form.cleaned_data)
        except OrderRefused as exc:
            form.add_error(None, exc.reason)
            status = 429 if exc.rate_limited else 400
        else:
            messages.success(request, f"Amending {order.side} {order.symbol} order.")
            return redirect("trading:orders")
    elif form.errors:
        status = 400
    order = decorate([order])[0]
    return render(
        request, "trading/order_amend.html", {"order": order, "form": form}, status=status
    )


@login_required
@GET_POST
def orders_cancel_all_view(request):
    """Confirm, then queue the cancellation of every open order (of a key / symbol if given)."""
    form, key, rows = _filtered(request)
    require_trader(request)
    if request.method == "POST" and form.is_valid():
        try:
            count = orders_cancel_all(
                user=request.user,
                key=key,
                request=request,
                symbol=form.cleaned_data["symbol"] or None,
            )
        except OrderRefused as exc:
            messages.error(request, exc.reason)
        else:
            messages.success(request, f"Cancelling {count} open order(s).")
        return redirect("trading:orders")
    context = {"form": form, "key": key, "orders": rows, "query": request.GET.urlencode()}
    return render(request, "trading/orders_cancel_all.html", context)

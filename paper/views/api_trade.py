"""SIGNED order endpoints: order (POST/GET/DELETE), cancelReplace, openOrders, allOrders."""

from paper.api import Call
from paper.errors import PaperError
from paper.feed import spec_for
from paper.models import PaperOrder
from paper.services.amend import order_cancel_replace
from paper.services.orders import (
    order_cancel,
    order_find,
    order_place,
    order_request_parse,
    orders_cancel_all,
    random_client_id,
)
from paper.views.params import int_param, paged, required
from paper.wire import cancel_json, order_json


def _respond_new(order, trades, resp_type: str) -> dict:
    if resp_type == "ACK":
        return {
            "symbol": order.symbol,
            "orderId": order.pk,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": order.updated_ms,
        }
    body = order_json(order, trades)
    if resp_type == "RESULT":
        body.pop("fills")
    return body


def order_new(call: Call):
    req = order_request_parse(call.params)
    order, trades = order_place(account_id=call.account_id, req=req, now=call.now)
    return _respond_new(order, trades, call.params.get("newOrderRespType", "FULL"))


def _order_ref(params: dict, id_name: str, client_name: str) -> tuple[int | None, str | None]:
    order_id, client_id = int_param(params, id_name), params.get(client_name) or None
    if order_id is None and client_id is None:
        raise PaperError(
            -1102, f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!"
        )
    return order_id, client_id


def order_get(call: Call):
    spec = spec_for(required(call.params, "symbol"))
    order_id, client_id = _order_ref(call.params, "orderId", "origClientOrderId")
    order = order_find(
        account_id=call.account_id, symbol=spec.symbol, order_id=order_id, client_order_id=client_id
    )
    if order is None:
        raise PaperError.order_not_found()
    return order_json(order)


def order_delete(call: Call):
    spec = spec_for(required(call.params, "symbol"))
    order_id, client_id = _order_ref(call.params, "orderId", "origClientOrderId")
    order = order_cancel(
        account_id=call.account_id,
        symbol=spec.symbol,
        order_id=order_id,
        client_order_id=client_id,
        now=call.now,
    )
    return cancel_json(order, call.params.get("newClientOrderId") or random_client_id())


def cancel_replace(call: Call):
    req = order_request_parse(call.params)
    order_id, client_id = _order_ref(call.params, "cancelOrderId", "cancelOrigClientOrderId")
    canceled, (order, trades) = order_cancel_replace(
        account_id=call.account_id,
        req=req,
        mode=required(call.params, "cancelReplaceMode"),
        cancel_order_id=order_id,
        cancel_client_id=client_id,
        now=call.now,
    )
    cancel_id = call.params.get("cancelNewClientOrderId") or random_client_id()
    return {
        "cancelResult": "SUCCESS",
        "newOrderResult": "SUCCESS",
        "cancelResponse": cancel_json(canceled, cancel_id),
        "newOrderResponse": _respond_new(
            order, trades, call.params.get("newOrderRespType", "FULL")
        ),
    }


def open_orders_weight(params: dict) -> int:
    return 6 if params.get("symbol") else 80


def open_orders(call: Call):
    orders = PaperOrder.objects.filter(
        account_id=call.account_id, status__in=PaperOrder.OPEN_STATUSES
    )
    if call.params.get("symbol"):
        orders = orders.filter(symbol=spec_for(call.params["symbol"]).symbol)
    return [order_json(o) for o in orders.order_by("id")]


def open_orders_delete(call: Call):
    spec = spec_for(required(call.params, "symbol"))
    orders = orders_cancel_all(account_id=call.account_id, symbol=spec.symbol, now=call.now)
    return [cancel_json(o, random_client_id()) for o in orders]


def all_orders(call: Call):
    spec = spec_for(required(call.params, "symbol"))
    orders = PaperOrder.objects.filter(account_id=call.account_id, symbol=spec.symbol)
    return [order_json(o) for o in paged(orders, call.params, "id", "created_ms", "orderId")]

"""order/cancelReplace: cancel an order and place its replacement under one account lock."""

from django.db import IntegrityError, transaction

from paper.clock import Now
from paper.errors import PaperError
from paper.services.ledger import ledger_transaction
from paper.services.orders import (
    OrderRequest,
    order_cancel_locked,
    order_find,
    order_place_locked,
)
from paper.wire import cancel_json, order_json

MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")


def _attempt(func):
    """Run one half in a savepoint; return (result, None) or (None, PaperError)."""
    try:
        with transaction.atomic():
            return func(), None
    except PaperError as error:
        return None, error
    except IntegrityError:  # the open-client-id constraint: a racing duplicate
        return None, PaperError.duplicate_order()


def order_cancel_replace(
    *, account_id: int, req: OrderRequest, mode: str, cancel_order_id, cancel_client_id, now: Now
):
    """Cancel then place, as Binance does; return (canceled order, (new order, trades)).

    Failures raise PaperError with Binance's -2021/-2022 body; a successful cancel stays
    committed even when the new order fails (that is Binance's "partial failure").
    """
    if mode not in MODES:
        raise PaperError.mandatory("cancelReplaceMode")
    with ledger_transaction(account_id=account_id):
        order = order_find(
            account_id=account_id,
            symbol=req.spec.symbol,
            order_id=cancel_order_id,
            client_order_id=cancel_client_id,
            lock=True,
        )
        canceled, cancel_error = _attempt(
            lambda: order_cancel_locked(account_id=account_id, order=order, now=now)
        )
        placed, place_error = None, None
        if cancel_error is None or mode == "ALLOW_FAILURE":
            placed, place_error = _attempt(
                lambda: order_place_locked(account_id=account_id, req=req, now=now)
            )
    if cancel_error is None and place_error is None:
        return canceled, placed
    raise _failure(canceled, cancel_error, placed, place_error)


def _failure(canceled, cancel_error, placed, place_error) -> PaperError:
    data = {
        "cancelResult": "FAILURE" if cancel_error else "SUCCESS",
        "newOrderResult": "NOT_ATTEMPTED"
        if placed is None and place_error is None
        else ("FAILURE" if place_error else "SUCCESS"),
        "cancelResponse": cancel_error.body() if cancel_error else cancel_json(canceled, None),
        "newOrderResponse": place_error.body()
        if place_error
        else (order_json(*placed) if placed else None),
    }
    if cancel_error and place_error:
        return PaperError(-2022, "Order cancel-replace failed.", 400, data)
    status = 400 if cancel_error else 409
    return PaperError(-2021, "Order cancel-replace partially failed.", status, data)

"""Helpers for order-path tests against the live paper exchange."""

from paper.models import PaperOrder, PaperTrade
from trading.models import OrderIntent
from trading.services.submission import Followup, order_reconcile, order_submit


def drive(intent_id, first: Followup | None = None, *, worker="test-worker", limit=30):
    """Run an intent's follow-ups to the end, ignoring countdowns; return the countdowns seen.

    The countdowns are what Celery would wait; skipping them is a fake clock.
    """
    waits = []
    followup = first if first is not None else order_submit(intent_id=intent_id, worker=worker)
    for _ in range(limit):
        if followup is None:
            return waits
        waits.append((followup.task, followup.countdown))
        if followup.task == "submit":
            followup = order_submit(intent_id=intent_id, worker=worker)
        else:
            followup = order_reconcile(intent_id=intent_id, step=followup.step)
    raise AssertionError(f"intent {intent_id} did not settle: {waits}")


def exchange_orders(intent: OrderIntent):
    """The paper exchange's orders carrying this intent's client order id."""
    return PaperOrder.objects.filter(client_order_id=intent.client_order_id)


def exchange_trades(intent: OrderIntent):
    return PaperTrade.objects.filter(order__client_order_id=intent.client_order_id)

"""Fault matrix: whatever the exchange or the network does, one intent makes at most one order.

Faults come from the paper exchange's controls (delay after acceptance, 503 "unknown" after
acceptance, 500 before processing, malformed JSON, 429 with Retry-After, clock skew). Follow-ups
run without waiting their countdowns (a fake clock); the countdowns are asserted instead.
"""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import AuditEvent
from paper.models import Fault
from paper.services.controls import clock_skew, fault_add
from tests.paper.helpers import pin_market
from tests.trading.conftest import paper_key_for
from tests.trading.paper_helpers import drive, exchange_orders, exchange_trades
from trading.models import Fill, OrderIntent
from trading.services.orders import order_place
from trading.services.submission import RECONCILE_SCHEDULE, order_submit, orders_recover

pytestmark = pytest.mark.django_db(transaction=True)
S = OrderIntent.Status
K = Fault.Kind
ORDER = {"endpoint": "api/v3/order", "method": "POST"}


@pytest.fixture
def live_key(trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.EXCHANGE_TIMEOUT_MS = 1000
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=trader)
    return paper_key_for(trader, api_key=api_key, secret=secret)


def limit(user, key, **extra):
    return order_place(
        user=user,
        key=key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="49000",
        **extra,
    )


def market(user, key):
    return order_place(
        user=user, key=key, symbol="BTC/USDT", side="buy", type="market", amount="0.01"
    )


def settled(intent) -> OrderIntent:
    intent.refresh_from_db()
    return intent


def test_timeout_after_acceptance_is_reconciled_not_resent(trader, live_key):
    fault_add(kind=K.DELAY_AFTER, value=2500, count=1, **ORDER)
    intent = limit(trader, live_key)
    waits = drive(intent.pk)
    assert waits == [("reconcile", RECONCILE_SCHEDULE[0])]
    assert settled(intent).status == S.OPEN
    assert exchange_orders(intent).count() == 1
    assert AuditEvent.objects.filter(target_id=str(intent.pk), event_type="order.unknown").exists()


def test_a_market_order_that_timed_out_is_found_filled_with_its_fills(trader, live_key):
    fault_add(kind=K.DELAY_AFTER, value=2500, count=1, **ORDER)
    intent = market(trader, live_key)
    drive(intent.pk)
    intent = settled(intent)
    assert intent.status == S.FILLED and intent.filled == Decimal("0.01")
    assert exchange_orders(intent).count() == 1
    trade_ids = {str(t.pk) for t in exchange_trades(intent)}
    assert set(Fill.objects.filter(intent=intent).values_list("trade_id", flat=True)) == trade_ids


@pytest.mark.parametrize("kind", [K.UNKNOWN_AFTER, K.MALFORMED])
def test_an_unreadable_answer_after_acceptance_is_reconciled(trader, live_key, kind):
    fault_add(kind=kind, count=1, **ORDER)
    intent = limit(trader, live_key)
    drive(intent.pk)
    assert settled(intent).status == S.OPEN
    assert exchange_orders(intent).count() == 1


def test_a_limit_order_the_exchange_never_took_is_resent_with_the_same_id(trader, live_key):
    fault_add(kind=K.ERROR_500, count=1, **ORDER)
    intent = limit(trader, live_key)
    waits = drive(intent.pk)
    # Looked up on the 1, 2, 5, 10, 17 s schedule before the one resend with the SAME id.
    assert waits == [("reconcile", s) for s in RECONCILE_SCHEDULE] + [("submit", 0)]
    intent = settled(intent)
    assert intent.status == S.OPEN and intent.attempt == 2
    assert exchange_orders(intent).count() == 1


def test_a_market_order_the_exchange_never_confirmed_is_never_resent(trader, live_key):
    fault_add(kind=K.ERROR_503, count=1, **ORDER)
    intent = market(trader, live_key)
    drive(intent.pk)
    intent = settled(intent)
    assert intent.status == S.FAILED_UNCONFIRMED and intent.attempt == 1
    assert "check it there" in intent.reject_reason
    assert not exchange_orders(intent).exists()
    failure = AuditEvent.objects.get(
        target_id=str(intent.pk), event_type="order.failed_unconfirmed"
    )
    assert failure.outcome == AuditEvent.Outcome.FAILURE


def test_a_429_pauses_every_request_then_the_same_id_goes_through(trader, live_key):
    fault_add(kind=K.RATE_LIMIT, value=1, count=2, endpoint="api/v3/order")
    intent = limit(trader, live_key)
    followup = order_submit(intent_id=intent.pk)
    assert followup.task == "submit" and followup.countdown >= 1
    assert settled(intent).status == S.NEW
    # Inside the Retry-After window nothing is sent at all (the fault would count it).
    assert order_submit(intent_id=intent.pk).countdown > 0
    assert Fault.objects.get().remaining == 1
    time.sleep(1.05)
    followup = order_submit(intent_id=intent.pk)  # the second 429 of the burst
    assert Fault.objects.get().remaining == 0
    time.sleep(1.05)
    assert order_submit(intent_id=intent.pk) is None
    assert settled(intent).status == S.OPEN
    assert exchange_orders(intent).count() == 1


def test_clock_skew_resyncs_once_and_keeps_the_client_order_id(trader, live_key):
    clock_skew(ms=-15_000)  # the exchange's clock is 15 s behind ours: -1021
    intent = limit(trader, live_key)
    assert drive(intent.pk) == []
    intent = settled(intent)
    assert intent.status == S.OPEN and intent.attempt == 1
    assert exchange_orders(intent).get().client_order_id == intent.client_order_id
    # The -1021 really happened: the client learnt the exchange's clock offset.
    [ex] = _cached_clients().values()
    assert 14_000 < ex.options["timeDifference"] < 16_000


def test_concurrent_duplicate_deliveries_send_once(trader, live_key):
    intent = limit(trader, live_key)
    start = threading.Barrier(4)

    def deliver():
        try:
            start.wait()
            order_submit(intent_id=intent.pk, worker=threading.current_thread().name)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert settled(intent).status == S.OPEN
    assert exchange_orders(intent).count() == 1
    assert (
        AuditEvent.objects.filter(target_id=str(intent.pk), event_type="order.submitting").count()
        == 1
    )


def test_a_worker_lost_between_claim_and_send_is_recovered_at_restart(trader, live_key):
    intent = limit(trader, live_key)
    OrderIntent.objects.filter(pk=intent.pk).update(
        status=S.SUBMITTING, attempt=1, claimed_by="celery@lost"
    )
    [(intent_id, followup)] = orders_recover(worker="celery@lost")
    assert intent_id == str(intent.pk) and followup.task == "reconcile"
    drive(intent.pk, followup)
    intent = settled(intent)
    assert intent.status == S.OPEN
    assert exchange_orders(intent).count() == 1


def test_a_worker_lost_after_sending_is_recovered_without_a_second_order(
    trader, live_key, paper_binance
):
    intent = limit(trader, live_key)
    OrderIntent.objects.filter(pk=intent.pk).update(
        status=S.SUBMITTING, attempt=1, claimed_by="celery@lost"
    )
    # The lost worker's request had reached the exchange before it died.
    from paper.models import PaperApiKey

    raw = paper_binance(PaperApiKey.objects.get().api_key, live_key_secret(live_key))
    raw.create_order(
        "BTC/USDT", "limit", "buy", 0.01, 49000, {"clientOrderId": intent.client_order_id}
    )
    assert orders_recover(worker="celery@lost") == []
    intent = settled(intent)
    assert intent.status == S.OPEN and intent.exchange_order_id
    assert exchange_orders(intent).count() == 1


def test_another_workers_fresh_claim_is_left_alone(trader, live_key):
    intent = limit(trader, live_key)
    OrderIntent.objects.filter(pk=intent.pk).update(
        status=S.SUBMITTING,
        claimed_by="celery@busy",
        claimed_at=intent.created_at.now(tz=intent.created_at.tzinfo),
    )
    assert orders_recover(worker="celery@other") == []
    assert settled(intent).status == S.SUBMITTING


def _cached_clients():
    from trading.exchange.connect import _cache

    return _cache()


def live_key_secret(key):
    from accounts.services.keys import key_credentials

    return key_credentials(key_id=key.pk).secret

"""The worker stops an intent before any request when it must: halt, bad key, duplicate run."""

from decimal import Decimal as D

import pytest

from accounts.models import AuditEvent, ExchangeKey
from tests.trading.conftest import paper_key_for
from tests.vault_helpers import raw_column, write_raw_column
from trading.models import AccountLimits, OrderIntent, TradingHalt
from trading.services.halt import trading_halt_set
from trading.services.orders import order_place
from trading.services.submission import order_submit

pytestmark = pytest.mark.django_db
S = OrderIntent.Status


@pytest.fixture
def intent(trader):
    key = paper_key_for(trader)
    return order_place(
        user=trader,
        key=key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="20000",
    )


def test_a_halt_stops_queued_orders_without_a_request(intent, exchange_port, admin_user):
    trading_halt_set(actor=admin_user, active=True, reason="exchange incident")
    assert order_submit(intent_id=intent.pk) is None
    intent.refresh_from_db()
    assert intent.status == S.CANCELLED_BY_HALT
    assert "exchange incident" in intent.reject_reason
    assert exchange_port == []
    assert TradingHalt.objects.get().active
    assert AuditEvent.objects.filter(event_type="order.cancelled_by_halt").count() == 1


def test_limits_tightened_after_queueing_stop_the_order_in_the_worker(intent, exchange_port):
    AccountLimits.objects.create(user=intent.user, max_order_notional=D("100"))
    assert order_submit(intent_id=intent.pk) is None
    intent.refresh_from_db()
    assert intent.status == S.REJECTED and "above your limit of 100" in intent.reject_reason
    assert exchange_port == []
    assert AuditEvent.objects.filter(event_type="order.rejected").count() == 1


def test_a_user_halt_set_after_queueing_cancels_the_order_in_the_worker(intent, exchange_port):
    AccountLimits.objects.create(user=intent.user, trading_halted=True)
    assert order_submit(intent_id=intent.pk) is None
    intent.refresh_from_db()
    assert intent.status == S.CANCELLED_BY_HALT and "halted" in intent.reject_reason
    assert exchange_port == []


def test_an_undecryptable_key_sends_nothing(intent, exchange_port):
    stored = bytearray(raw_column(intent.key_id, "secret"))
    stored[len(stored) // 2] ^= 0x01
    write_raw_column(intent.key_id, "secret", bytes(stored))
    order_submit(intent_id=intent.pk)
    intent.refresh_from_db()
    assert intent.status == S.REJECTED and "decrypted" in intent.reject_reason
    status = ExchangeKey.objects.filter(pk=intent.key_id).values_list("status", flat=True).get()
    assert status == ExchangeKey.Status.UNDECRYPTABLE
    assert exchange_port == []


def test_a_disabled_key_sends_nothing(intent, exchange_port):
    ExchangeKey.objects.filter(pk=intent.key_id).update(status=ExchangeKey.Status.DISABLED)
    order_submit(intent_id=intent.pk)
    intent.refresh_from_db()
    assert intent.status == S.REJECTED
    assert exchange_port == []


def test_a_second_delivery_of_a_claimed_intent_does_nothing(intent, exchange_port):
    OrderIntent.objects.filter(pk=intent.pk).update(status=S.SUBMITTING)
    assert order_submit(intent_id=intent.pk) is None
    assert exchange_port == []
    assert not AuditEvent.objects.filter(event_type="order.submitting").exists()


def test_an_unreachable_exchange_puts_the_intent_back_in_the_queue(intent, settings):
    settings.PAPER_EXCHANGE_URL = "http://127.0.0.1:9/paper"  # discard port: refused
    followup = order_submit(intent_id=intent.pk)
    intent.refresh_from_db()
    assert intent.status == S.NEW and intent.attempt == 1 and intent.retry_at is not None
    assert followup.task == "submit" and followup.countdown > 0

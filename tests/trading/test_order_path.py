"""The order path end to end: keytrade -> ccxt -> HTTP -> the paper exchange, no mocks."""

import decimal
from decimal import Decimal

import pytest

from accounts.models import AuditEvent, ExchangeKey
from paper.models import PaperOrder
from paper.services.controls import price_set
from tests.paper.helpers import pin_market
from tests.trading.conftest import paper_key_for
from tests.trading.paper_helpers import drive, exchange_orders, exchange_trades
from trading.models import Fill, Order, OrderIntent
from trading.selectors import fills_for_user, open_orders_for_user
from trading.services.orders import order_amend, order_cancel, order_place
from trading.services.sync import account_sync

pytestmark = pytest.mark.django_db(transaction=True)
S = OrderIntent.Status


@pytest.fixture
def live_key(trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=trader)
    return paper_key_for(trader, api_key=api_key, secret=secret)


def place(user, key, **overrides):
    spec = {
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "amount": "0.01",
        "price": "49000",
    }
    spec.update(overrides)
    return order_place(user=user, key=key, **spec)


def transitions(intent) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(intent.pk), event_type__startswith="order.")
        .order_by("seq")
        .values_list("event_type", flat=True)
    )


def test_a_limit_order_rests_on_the_exchange_once(trader, live_key):
    intent = place(trader, live_key)
    assert drive(intent.pk) == []
    intent.refresh_from_db()
    assert intent.status == S.OPEN and intent.exchange_order_id
    assert exchange_orders(intent).count() == 1
    mirror = open_orders_for_user(user=trader).get()
    assert (mirror.exchange_order_id, mirror.intent_id) == (intent.exchange_order_id, intent.pk)
    assert transitions(intent) == ["order.new", "order.submitting", "order.open"]


def test_sending_an_order_leaves_the_callers_decimal_arithmetic_as_it_was(trader, live_key):
    # ccxt rounds amounts by setting ROUND_HALF_UP and trapping Underflow on the thread's
    # decimal context; bots and backtests computing in the same worker must not inherit that.
    before = decimal.getcontext().copy()
    intent = place(trader, live_key)
    drive(intent.pk)
    intent.refresh_from_db()
    assert intent.status == S.OPEN
    after = decimal.getcontext()
    assert (after.prec, after.rounding) == (before.prec, before.rounding)
    assert {t for t, on in after.traps.items() if on} == {t for t, on in before.traps.items() if on}


def test_a_market_order_fills_and_its_fills_are_recorded_once(trader, live_key):
    intent = place(trader, live_key, type="market", price=None, amount="0.01")
    drive(intent.pk)
    intent.refresh_from_db()
    assert intent.status == S.FILLED and intent.filled == Decimal("0.01")
    trades = exchange_trades(intent)
    assert trades.count() >= 1
    recorded = Fill.objects.filter(intent=intent)
    assert sorted(recorded.values_list("trade_id", flat=True)) == sorted(str(t.pk) for t in trades)
    account_sync(key_id=live_key.pk)  # sync sees the same trades again: nothing doubles
    assert Fill.objects.filter(key=live_key).count() == trades.count()
    assert sum(f.amount for f in fills_for_user(user=trader)) == Decimal("0.01")


def test_a_resting_order_that_fills_later_is_picked_up_by_sync(trader, live_key):
    intent = place(trader, live_key, price="49500")
    drive(intent.pk)
    price_set(symbol="BTCUSDT", price="49000")
    report = account_sync(key_id=live_key.pk)
    intent.refresh_from_db()
    assert intent.status == S.FILLED and intent.filled == Decimal("0.01")
    assert report.new_fills == exchange_trades(intent).count() >= 1
    assert Order.objects.get(exchange_order_id=intent.exchange_order_id).status == "closed"
    assert account_sync(key_id=live_key.pk).new_fills == 0


def test_amending_replaces_the_order_with_its_own_client_id(trader, live_key):
    original = place(trader, live_key, price="48000")
    drive(original.pk)
    mirror = Order.objects.get(intent=original)
    amend = order_amend(user=trader, order=mirror, price="48500")
    drive(amend.pk)
    amend.refresh_from_db()
    original.refresh_from_db()
    assert amend.status == S.OPEN and amend.client_order_id != original.client_order_id
    assert original.status == S.CANCELED
    assert PaperOrder.objects.get(client_order_id=amend.client_order_id).price == Decimal("48500")
    assert exchange_orders(original).get().status == "CANCELED"
    assert [o.price for o in open_orders_for_user(user=trader)] == [Decimal("48500")]


def test_cancelling_an_open_order(trader, live_key):
    intent = place(trader, live_key)
    drive(intent.pk)
    cancel = order_cancel(user=trader, order=Order.objects.get(intent=intent))
    drive(cancel.pk)
    cancel.refresh_from_db()
    intent.refresh_from_db()
    assert cancel.status == S.CANCELED and intent.status == S.CANCELED
    assert exchange_orders(intent).get().status == "CANCELED"
    assert not open_orders_for_user(user=trader).exists()


def test_insufficient_funds_is_rejected_with_the_reason(trader, live_key, settings):
    settings.TRADING_DEFAULT_MAX_ORDER_NOTIONAL = Decimal("1000000")
    intent = place(trader, live_key, amount="5", price="49000")  # 245,000 USDT; has 10,000
    drive(intent.pk)
    intent.refresh_from_db()
    assert intent.status == S.REJECTED
    assert "insufficient balance" in intent.reject_reason
    assert not exchange_orders(intent).exists()


def test_a_key_the_exchange_rejects_is_disabled(trader, live_key):
    from paper.models import PaperApiKey

    PaperApiKey.objects.all().update(is_enabled=False)
    intent = place(trader, live_key)
    drive(intent.pk)
    intent.refresh_from_db()
    live_key.refresh_from_db(fields=["status", "status_reason", "last_error"])
    assert intent.status == S.REJECTED
    assert intent.reject_reason == (
        "The exchange rejected this key: check its IP whitelist and permissions."
    )
    assert live_key.status == ExchangeKey.Status.DISABLED
    assert AuditEvent.objects.filter(event_type="key.disabled").count() == 1


def test_sync_stores_balances_and_is_incremental(trader, live_key):
    for _ in range(3):
        drive(place(trader, live_key, type="market", price=None, amount="0.001").pk)
    Fill.objects.all().delete()
    first = account_sync(key_id=live_key.pk)
    assert first.new_fills == 3
    cursor = live_key.sync_cursors.get(symbol="BTC/USDT")
    drive(place(trader, live_key, type="market", price=None, amount="0.001").pk)
    Fill.objects.filter(intent__isnull=False).order_by("-executed_at").first()
    second = account_sync(key_id=live_key.pk)
    assert second.new_fills == 0  # the order path already recorded the new fill
    cursor.refresh_from_db()
    assert int(cursor.next_id) > 0
    balances = {b.asset: b for b in live_key.balances.all()}
    assert balances["BTC"].total > Decimal("0.5")
    assert balances["USDT"].total < Decimal("10000")


def test_a_halt_stops_new_orders_but_not_cancellations(trader, live_key, admin_user):
    from trading.services.halt import trading_halt_set

    resting = place(trader, live_key)
    drive(resting.pk)
    queued = place(trader, live_key)
    trading_halt_set(actor=admin_user, active=True, reason="drill")
    cancel = order_cancel(user=trader, order=Order.objects.get(intent=resting))
    drive(queued.pk)
    drive(cancel.pk)
    queued.refresh_from_db()
    cancel.refresh_from_db()
    assert queued.status == S.CANCELLED_BY_HALT and not exchange_orders(queued).exists()
    assert cancel.status == S.CANCELED
    assert exchange_orders(resting).get().status == "CANCELED"

"""Racing orders never overdraw a balance, and a fill is applied exactly once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D

import ccxt
import pytest
from django.db import connection

from paper.clock import clock_read
from paper.models import PaperAccount, PaperOrder, PaperTrade
from paper.services.controls import price_set
from paper.services.orders import order_place, order_request_parse
from paper.services.resting import orders_evaluate
from tests.conftest import make_user
from tests.paper.helpers import exact_balances, pin_market
from tests.paper_fixtures import binance_for

pytestmark = pytest.mark.django_db(transaction=True)


def _race_for_the_same_dollars(paper_url, api_key, secret, racers: int) -> list:
    """Each racer wants 3,000 of the 10,000 USDT: only three can have it."""
    barrier = threading.Barrier(racers)

    def place(i):
        ex = binance_for(paper_url, api_key, secret)
        ex.load_markets()
        barrier.wait()
        try:
            return ex.create_order("BTC/USDT", "limit", "buy", 0.1, 30000)["status"]
        except ccxt.InsufficientFunds:
            return "insufficient"
        finally:
            ex.session.close()

    with ThreadPoolExecutor(racers) as pool:
        return list(pool.map(place, range(racers)))


def _assert_three_won(outcomes, ex):
    assert sorted(outcomes) == ["insufficient"] * (len(outcomes) - 3) + ["open"] * 3
    assert exact_balances(ex.fetch_balance())["USDT"] == (D("1000"), D("9000"))
    assert len(ex.fetch_open_orders("BTC/USDT")) == 3


def test_concurrent_orders_for_one_balance_never_overdraw(paper_url, paper_key, paper_binance):
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key()
    outcomes = _race_for_the_same_dollars(paper_url, api_key, secret, racers=6)
    _assert_three_won(outcomes, paper_binance(api_key, secret))


@pytest.mark.postgres
def test_concurrent_orders_on_postgresql_row_locks(
    postgres_url, paper_url, paper_key, paper_binance
):
    assert connection.vendor == "postgresql"
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key()
    outcomes = _race_for_the_same_dollars(paper_url, api_key, secret, racers=12)
    _assert_three_won(outcomes, paper_binance(api_key, secret))


def test_concurrent_sweeps_apply_a_fill_once(transactional_db):
    from paper.services.accounts import account_get_or_create

    pin_market("BTCUSDT", "50000")
    account = account_get_or_create(user=make_user("racer"))
    req = order_request_parse(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.01", "price": "49500"}
    )  # fmt: skip
    order, _ = order_place(account_id=account.pk, req=req, now=clock_read())
    price_set(symbol="BTCUSDT", price="49000")
    barrier = threading.Barrier(6)

    def sweep(_):
        barrier.wait()
        try:
            return orders_evaluate(account_id=account.pk, now=clock_read())
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        fills = list(pool.map(sweep, range(6)))
    assert sum(fills) == 1
    assert PaperTrade.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.status == PaperOrder.Status.FILLED and order.locked_amount == 0
    balances = {b.asset: b for b in PaperAccount.objects.get(pk=account.pk).balances.all()}
    assert (balances["USDT"].free, balances["USDT"].locked) == (D("9505"), D("0"))
    assert balances["BTC"].free == D("0.50999")

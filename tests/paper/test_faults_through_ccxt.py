"""Injected faults look to ccxt exactly like a misbehaving exchange (and orders still land)."""

import time

import ccxt
import pytest

from paper.models import Fault
from paper.services.controls import fault_add, faults_clear
from tests.paper.helpers import pin_market

pytestmark = pytest.mark.django_db(transaction=True)

BTC = "BTC/USDT"
Kind = Fault.Kind


@pytest.fixture
def trader(paper_binance, paper_key):
    pin_market("BTCUSDT", "50000")
    ex = paper_binance(*paper_key())
    ex.load_markets()
    return ex


def test_latency_slows_only_the_chosen_endpoint(trader):
    fault_add(kind=Kind.LATENCY, endpoint="api/v3/time", value=600)
    started = time.monotonic()
    trader.fetch_time()
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    trader.fetch_ticker(BTC)
    assert time.monotonic() - started < 0.6


def test_http_500_and_503_before_processing_create_nothing(trader):
    fault_add(kind=Kind.ERROR_500, endpoint="api/v3/order", method="POST", count=1)
    fault_add(kind=Kind.ERROR_503, endpoint="api/v3/order", method="POST", count=1)
    for _ in range(2):
        with pytest.raises(ccxt.OperationFailed):
            trader.create_order(BTC, "limit", "buy", 0.001, 40000)
    assert trader.fetch_open_orders(BTC) == []
    assert trader.create_order(BTC, "limit", "buy", 0.001, 40000)["status"] == "open"


def test_a_503_unknown_after_acceptance_leaves_the_order_on_the_book(trader):
    fault_add(kind=Kind.UNKNOWN_AFTER, endpoint="api/v3/order", method="POST", count=1)
    with pytest.raises(ccxt.OperationFailed) as excinfo:
        trader.create_order(BTC, "limit", "buy", 0.001, 40000, {"clientOrderId": "kt-unknown-1"})
    assert "Execution status unknown" in str(excinfo.value)
    found = trader.fetch_order(None, BTC, {"clientOrderId": "kt-unknown-1"})
    assert found["status"] == "open" and found["clientOrderId"] == "kt-unknown-1"


def test_a_response_slower_than_the_client_timeout_after_acceptance(trader):
    fault_add(kind=Kind.DELAY_AFTER, endpoint="api/v3/order", method="POST", value=1500, count=1)
    trader.timeout = 500
    with pytest.raises(ccxt.RequestTimeout):
        trader.create_order(BTC, "limit", "buy", 0.001, 40000, {"clientOrderId": "kt-slow-1"})
    trader.timeout = 10_000
    found = trader.fetch_order(None, BTC, {"clientOrderId": "kt-slow-1"})
    assert found["status"] == "open"


def test_a_429_burst_carries_retry_after_then_clears(trader):
    fault_add(kind=Kind.RATE_LIMIT, endpoint="api/v3/order", value=7, count=2)
    for _ in range(2):
        with pytest.raises(ccxt.DDoSProtection):
            trader.create_order(BTC, "limit", "buy", 0.001, 40000)
        assert trader.last_response_headers["Retry-After"] == "7"
    assert trader.fetch_open_orders(BTC) == []
    assert trader.create_order(BTC, "limit", "buy", 0.001, 40000)["status"] == "open"


def test_malformed_json_after_acceptance_parses_to_an_order_without_id(trader):
    fault_add(kind=Kind.MALFORMED, endpoint="api/v3/order", method="POST", count=1)
    # ccxt does not raise on half a JSON object: it hands back an order it could not parse.
    broken = trader.create_order(
        BTC, "limit", "buy", 0.001, 40000, {"clientOrderId": "kt-broken-1"}
    )
    assert broken["id"] is None and broken["status"] is None
    assert trader.last_http_response.startswith("{") and not trader.last_http_response.endswith("}")
    assert trader.fetch_order(None, BTC, {"clientOrderId": "kt-broken-1"})["status"] == "open"


def test_clearing_faults_restores_normal_service(trader):
    fault_add(kind=Kind.ERROR_500)
    with pytest.raises(ccxt.OperationFailed):
        trader.fetch_ticker(BTC)
    faults_clear()
    assert trader.fetch_ticker(BTC)["last"] == 50000

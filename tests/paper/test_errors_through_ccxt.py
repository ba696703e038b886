"""Every refusal reaches ccxt as the exception class Binance's would (wire doc §6.2)."""

import json
import time
from datetime import timedelta

import ccxt
import pytest
from django.test import override_settings

from paper.models import PaperApiKey
from paper.services.controls import clock_skew
from tests.paper.helpers import pin_market

pytestmark = pytest.mark.django_db(transaction=True)

BTC = "BTC/USDT"


def last_body(ex) -> dict:
    return json.loads(ex.last_http_response)


def raises_exactly(cls, call, *args, **kwargs):
    with pytest.raises(ccxt.BaseError) as excinfo:
        call(*args, **kwargs)
    assert type(excinfo.value) is cls, f"{type(excinfo.value).__name__}: {excinfo.value}"
    return excinfo.value


@pytest.fixture
def trader(paper_binance, paper_key):
    pin_market("BTCUSDT", "50000")
    return paper_binance(*paper_key())


# --- authentication -----------------------------------------------------------------------------


def test_a_wrong_secret_is_a_bad_signature(paper_binance, paper_key):
    api_key, secret = paper_key()
    ex = paper_binance(api_key, secret[::-1])
    error = raises_exactly(ccxt.AuthenticationError, ex.fetch_balance)
    assert '"code":-1022' in str(error)


def test_an_unknown_key_is_refused(paper_binance, paper_key):
    _, secret = paper_key()
    ex = paper_binance("A" * 64, secret)
    assert '"code":-2015' in str(raises_exactly(ccxt.AuthenticationError, ex.fetch_balance))


def test_a_malformed_key_is_refused_as_bad_format(paper_binance):
    ex = paper_binance("not-a-key", "x" * 64)
    assert '"code":-2014' in str(raises_exactly(ccxt.AuthenticationError, ex.fetch_balance))


def test_a_disabled_key_is_refused(paper_binance, paper_key):
    api_key, secret = paper_key()
    PaperApiKey.objects.filter(api_key=api_key).update(is_enabled=False)
    ex = paper_binance(api_key, secret)
    assert '"code":-2015' in str(raises_exactly(ccxt.AuthenticationError, ex.fetch_balance))


def test_an_expired_key_is_refused(paper_binance, paper_key):
    ex = paper_binance(*paper_key(expires_in=timedelta(minutes=-1)))
    assert '"code":-2015' in str(raises_exactly(ccxt.AuthenticationError, ex.fetch_balance))


def test_a_key_used_from_outside_its_ip_whitelist_is_refused(paper_binance, paper_key):
    outsider = paper_binance(*paper_key(ip=["10.0.0.0/8"]))  # the client is 127.0.0.1
    assert '"code":-2015' in str(raises_exactly(ccxt.AuthenticationError, outsider.fetch_balance))
    insider = paper_binance(*paper_key(ip=["127.0.0.0/8"]))
    assert insider.fetch_balance()["USDT"]["free"] == 10000


def test_a_read_only_key_cannot_trade(paper_binance, paper_key):
    ex = paper_binance(*paper_key(trade=False))
    error = raises_exactly(
        ccxt.AuthenticationError, ex.create_order, BTC, "limit", "buy", 0.01, 1000
    )
    assert '"code":-2015' in str(error)


def test_after_a_successful_call_binance_style_2015_reads_as_ddos_protection(
    paper_binance, paper_key
):
    ex = paper_binance(*paper_key(trade=False))
    ex.fetch_balance()  # ccxt remembers that this key once authenticated (wire doc §6.1)
    raises_exactly(ccxt.DDoSProtection, ex.create_order, BTC, "limit", "buy", 0.01, 1000)


def test_a_timestamp_outside_the_recv_window_is_an_invalid_nonce(paper_binance, paper_key):
    ex = paper_binance(*paper_key())
    clock_skew(ms=30_000)  # the exchange's clock runs 30 s ahead of the client's
    assert '"code":-1021' in str(raises_exactly(ccxt.InvalidNonce, ex.fetch_balance))
    ex.load_time_difference()  # what a client does about it: sync with /api/v3/time
    assert ex.fetch_balance()["USDT"]["free"] == 10000


def test_a_timestamp_ahead_of_the_server_is_an_invalid_nonce(paper_binance, paper_key):
    ex = paper_binance(*paper_key())
    clock_skew(ms=-5_000)
    raises_exactly(ccxt.InvalidNonce, ex.fetch_balance)


def test_api_restrictions_report_the_keys_real_permissions(paper_binance, paper_key):
    ex = paper_binance(*paper_key(trade=True, ip=["127.0.0.1"], expires_in=timedelta(days=3)))
    restrictions = ex.sapi_get_account_apirestrictions()
    assert restrictions["ipRestrict"] is True
    assert restrictions["enableReading"] is True
    assert restrictions["enableSpotAndMarginTrading"] is True
    assert restrictions["enableWithdrawals"] is False
    assert restrictions["tradingAuthorityExpirationTime"] > ex.milliseconds()
    read_only = paper_binance(*paper_key(trade=False, withdraw=True))
    restrictions = read_only.sapi_get_account_apirestrictions()
    assert restrictions["ipRestrict"] is False
    assert restrictions["enableSpotAndMarginTrading"] is False
    assert restrictions["enableWithdrawals"] is True


# --- orders ---------------------------------------------------------------------------------------


def test_an_order_beyond_the_balance_is_insufficient_funds(trader):
    error = raises_exactly(
        ccxt.InsufficientFunds, trader.create_order, BTC, "limit", "buy", 1, 40000
    )
    assert "insufficient balance" in str(error)
    assert last_body(trader)["code"] == -2010
    assert trader.fetch_open_orders(BTC) == []


def test_a_client_order_id_reused_while_open_is_a_duplicate(trader):
    trader.create_order(BTC, "limit", "buy", 0.001, 40000, {"clientOrderId": "same-id"})
    error = raises_exactly(
        ccxt.InvalidOrder,
        trader.create_order, BTC, "limit", "buy", 0.001, 40000, {"clientOrderId": "same-id"},
    )  # fmt: skip
    assert "Duplicate order sent." in str(error)
    assert len(trader.fetch_open_orders(BTC)) == 1


def test_a_post_only_order_that_would_take_is_refused(trader):
    raises_exactly(
        ccxt.OrderImmediatelyFillable,
        trader.create_order, BTC, "limit", "buy", 0.001, 60000, {"postOnly": True},
    )  # fmt: skip
    resting = trader.create_order(BTC, "limit", "buy", 0.001, 40000, {"postOnly": True})
    assert resting["status"] == "open" and resting["postOnly"] is True


def test_an_amount_below_the_minimum_quantity_fails_lot_size(trader):
    error = raises_exactly(
        ccxt.InvalidOrder, trader.create_order, "ETH/USDT", "limit", "buy", 90000, 1
    )
    assert "LOT_SIZE" in str(error)


def test_a_price_off_the_tick_fails_price_filter(trader):
    error = raises_exactly(
        ccxt.InvalidOrder,
        trader.private_post_order,
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.001", "price": "40000.005"},
    )  # fmt: skip
    assert "PRICE_FILTER" in str(error)


def test_a_too_small_order_value_fails_notional(trader):
    error = raises_exactly(
        ccxt.BadRequest, trader.create_order, BTC, "limit", "buy", 0.00001, 40000
    )
    assert "NOTIONAL" in str(error)


def test_an_unknown_symbol_is_a_bad_symbol(trader):
    raises_exactly(ccxt.BadSymbol, trader.public_get_ticker_24hr, {"symbol": "DOGEUSDT"})


def test_fetching_an_unknown_order_is_order_not_found(trader):
    error = raises_exactly(ccxt.OrderNotFound, trader.fetch_order, "999999", BTC)
    assert '"code":-2013' in str(error)


def test_cancelling_an_unknown_or_closed_order_is_order_not_found(trader):
    assert '"code":-2011' in str(
        raises_exactly(ccxt.OrderNotFound, trader.cancel_order, "999999", BTC)
    )
    order = trader.create_order(BTC, "limit", "buy", 0.001, 40000)
    trader.cancel_order(order["id"], BTC)
    raises_exactly(ccxt.OrderNotFound, trader.cancel_order, order["id"], BTC)


def test_amending_an_order_that_is_gone_fails_like_binance(trader):
    order = trader.create_order(BTC, "limit", "buy", 0.001, 40000)
    trader.cancel_order(order["id"], BTC)
    raises_exactly(
        ccxt.ExchangeError, trader.edit_order, order["id"], BTC, "limit", "buy", 0.001, 41000
    )
    body = last_body(trader)
    assert body["code"] == -2021
    assert body["data"]["cancelResult"] == "FAILURE"
    assert body["data"]["newOrderResult"] == "NOT_ATTEMPTED"
    assert body["data"]["cancelResponse"]["code"] == -2011
    assert trader.fetch_open_orders(BTC) == []


# --- rate limits --------------------------------------------------------------------------------


def start_of_a_fresh_window(window_ms: int, needed_ms: int) -> None:
    """Counters are per fixed window: do not let a burst straddle two of them."""
    into = int(time.time() * 1000) % window_ms
    if into > window_ms - needed_ms:
        time.sleep((window_ms - into) / 1000 + 0.05)


def test_past_the_weight_limit_requests_get_429_with_retry_after(paper_binance):
    ex = paper_binance()
    start_of_a_fresh_window(60_000, 5_000)
    limits = {"ip_weight_per_minute": 5, "key_weight_per_minute": 5, "orders_per_10s": 5}
    with override_settings(PAPER_RATE_LIMITS=limits):
        for _ in range(5):
            ex.fetch_time()
        raises_exactly(ccxt.DDoSProtection, ex.fetch_time)
    retry_after = int(ex.last_response_headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert last_body(ex)["code"] == -1003


def test_too_many_new_orders_get_429(trader):
    limits = {"ip_weight_per_minute": 1000, "key_weight_per_minute": 1000, "orders_per_10s": 2}
    start_of_a_fresh_window(10_000, 3_000)
    with override_settings(PAPER_RATE_LIMITS=limits):
        trader.create_order(BTC, "limit", "buy", 0.001, 40000)
        trader.create_order(BTC, "limit", "buy", 0.001, 40000)
        raises_exactly(ccxt.DDoSProtection, trader.create_order, BTC, "limit", "buy", 0.001, 40000)
    assert last_body(trader)["code"] == -1015
    assert len(trader.fetch_open_orders(BTC)) == 2


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(paper_binance, paper_key):
    ex = paper_binance(*paper_key(ip=["10.0.0.0/8"]), headers={"X-Forwarded-For": "10.1.2.3"})
    raises_exactly(ccxt.AuthenticationError, ex.fetch_balance)  # a client can claim anything
    with override_settings(PAPER_TRUSTED_PROXY=True):
        assert ex.fetch_balance()["USDT"]["free"] == 10000

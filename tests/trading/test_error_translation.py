"""Every ccxt exception becomes one documented keytrade error with a plain message.

The exceptions are real ccxt exception objects with the bodies the wire doc measured
(binance-spot-wire.md §6.2); no network is involved.
"""

import ccxt
import pytest
import requests

from trading.exchange import errors
from trading.exchange.translate import CREATE, READ, retry_after_seconds, translate

URL = "https://127.0.0.1/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=abcdef0123456789"


def body(code, msg):
    return f'binance {{"code":{code},"msg":"{msg}"}}'


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ccxt.AuthenticationError(
                body(-2015, "Invalid API-key, IP, or permissions for action.")
            ),
            errors.KeyRejected,
        ),
        # After a first successful signed call ccxt reports -2015 as DDoSProtection.
        (
            ccxt.DDoSProtection(body(-2015, "Invalid API-key, IP, or permissions for action.")),
            errors.KeyRejected,
        ),
        (
            ccxt.AuthenticationError(body(-1022, "Signature for this request is not valid.")),
            errors.KeyRejected,
        ),
        (
            ccxt.InsufficientFunds(
                body(-2010, "Account has insufficient balance for requested action.")
            ),
            errors.InsufficientFunds,
        ),
        (ccxt.InvalidOrder(body(-1013, "Filter failure: LOT_SIZE")), errors.InvalidOrder),
        (ccxt.BadRequest(body(-1013, "Filter failure: NOTIONAL")), errors.InvalidOrder),
        (ccxt.InvalidOrder(body(-2010, "Duplicate order sent.")), errors.DuplicateOrder),
        (ccxt.OrderNotFound(body(-2013, "Order does not exist.")), errors.OrderNotFound),
        (
            ccxt.InvalidNonce(
                body(-1021, "Timestamp for this request is outside of the recvWindow.")
            ),
            errors.TimestampSkew,
        ),
        (ccxt.DDoSProtection("binance 429 Too Many Requests"), errors.RateLimited),
        (ccxt.RateLimitExceeded(body(-1003, "Too many requests.")), errors.RateLimited),
        (ccxt.RequestTimeout("binance POST " + URL), errors.OutcomeUnknown),
        (ccxt.ExchangeNotAvailable("binance POST " + URL), errors.OutcomeUnknown),
        (ccxt.OperationFailed(body(-1000, "An unknown error occurred.")), errors.OutcomeUnknown),
        (ccxt.OperationFailed(body(-1006, "Execution status unknown.")), errors.OutcomeUnknown),
        (ccxt.RequestTimeout(body(-1007, "Timeout waiting for response.")), errors.OutcomeUnknown),
        (ccxt.BadResponse("binance unparsable"), errors.OutcomeUnknown),
        (TypeError("'NoneType' object is not subscriptable"), errors.OutcomeUnknown),
    ],
)
def test_create_order_errors(exc, expected):
    error = translate(exc, op=CREATE)
    assert type(error) is expected
    assert str(error) == error.user_message and error.user_message


@pytest.mark.parametrize(
    "exc",
    [
        ccxt.RequestTimeout("binance GET " + URL),
        ccxt.ExchangeNotAvailable("x"),
        ccxt.OperationFailed(body(-1006, "Execution status unknown.")),
    ],
)
def test_a_failed_read_is_unavailable_not_unknown(exc):
    assert type(translate(exc, op=READ)) is errors.ExchangeUnavailable


def test_a_refused_connection_means_the_order_was_not_sent():
    try:
        try:
            raise requests.exceptions.ConnectionError("NewConnectionError: Connection refused")
        except requests.exceptions.ConnectionError as inner:
            raise ccxt.NetworkError("binance POST " + URL) from inner
    except ccxt.NetworkError as exc:
        error = translate(exc, op=CREATE)
    assert type(error) is errors.ExchangeUnavailable


def test_an_unknown_code_with_http_400_is_a_rejection_but_with_500_is_unknown():
    exc = ccxt.ExchangeError(body(-9999, "Something odd."))
    assert type(translate(exc, op=CREATE, http_status=400)) is errors.InvalidOrder
    assert type(translate(exc, op=CREATE, http_status=502)) is errors.OutcomeUnknown


def test_key_rejection_tells_the_user_what_to_check():
    error = translate(ccxt.AuthenticationError(body(-2015, "Invalid API-key")), op=READ)
    assert error.user_message == (
        "The exchange rejected this key: check its IP whitelist and permissions."
    )
    assert error.disable_key


def test_permission_denied_does_not_disable_the_key():
    error = translate(
        ccxt.PermissionDenied(body(-2010, "Rest API trading is not enabled.")), op=CREATE
    )
    assert isinstance(error, errors.KeyRejected) and not error.disable_key


def test_the_exchange_reason_is_shown_for_invalid_orders():
    error = translate(ccxt.InvalidOrder(body(-1013, "Filter failure: LOT_SIZE")), op=CREATE)
    assert "Filter failure: LOT_SIZE" in error.user_message


def test_retry_after_comes_from_the_response_headers():
    error = translate(
        ccxt.DDoSProtection("binance 429"), op=CREATE, http_status=429, headers={"Retry-After": "7"}
    )
    assert error.retry_after == 7
    teapot = translate(ccxt.DDoSProtection("binance 418"), op=CREATE, http_status=418, headers={})
    assert teapot.retry_after == 120
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0


def test_no_query_string_signature_or_secret_survives(settings):
    from keytrade.logging import register_secret

    register_secret("SUPERSECRETVALUE123")
    exc = ccxt.RequestTimeout(f"binance POST {URL}&apiKey=SUPERSECRETVALUE123 SUPERSECRETVALUE123")
    error = translate(exc, op=CREATE)
    text = " ".join([str(error), error.detail, repr(error)])
    assert "abcdef0123456789" not in text
    assert "SUPERSECRETVALUE123" not in text
    assert "symbol=BTCUSDT" not in text

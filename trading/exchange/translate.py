"""Translate ccxt exceptions into keytrade's documented errors (see errors.py).

Binance quirks handled here (binance-spot-wire.md §6): -2015 turns into DDoSProtection after the
first successful signed call; 429/418 are DDoSProtection too; a duplicate clientOrderId is a plain
InvalidOrder "Duplicate order sent."; -1006/-1007 mean "execution status unknown".
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import ccxt
import requests

from trading.exchange import errors
from trading.exchange.types import from_ms

READ, CREATE, CANCEL, EDIT = "read", "create", "cancel", "edit"
WRITES = {CREATE, CANCEL, EDIT}

KEY_CODES = {"-2015", "-1022", "-2014", "-1002", "-2008"}
UNKNOWN_OUTCOME_CODES = {"-1006", "-1007"}
RATE_CODES = {"-1003", "-1015"}
DEFAULT_RETRY_AFTER = {429: 5.0, 418: 120.0}


def translate(
    exc: BaseException, *, op: str, http_status: int | None = None, headers=None
) -> errors.ExchangeError:
    """Return the keytrade error for an exception raised by a ccxt call."""
    if isinstance(exc, errors.ExchangeError):
        return exc
    message = str(exc)
    code, msg = errors.exchange_body(message)
    detail = f"{type(exc).__name__}: {message}"
    by_code = _by_code(exc, code, op=op, http_status=http_status, headers=headers, detail=detail)
    if by_code is not None:
        return by_code
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return _rate_limited(http_status, headers, detail, code)
    if isinstance(exc, ccxt.InvalidNonce):
        return errors.TimestampSkew(detail=detail, code=code)
    if isinstance(exc, ccxt.AuthenticationError):
        # PermissionDenied ("trading is not enabled") is a scope problem, not a bad key.
        disable = not isinstance(exc, ccxt.PermissionDenied)
        return errors.KeyRejected(disable_key=disable, detail=detail, code=code)
    if isinstance(exc, ccxt.InsufficientFunds):
        return errors.InsufficientFunds(detail=detail, code=code)
    if isinstance(exc, ccxt.OrderNotFound):
        return errors.OrderNotFound(detail=detail, code=code)
    if isinstance(exc, ccxt.InvalidOrder) and "duplicate order" in msg.lower():
        return errors.DuplicateOrder(detail=detail, code=code)
    if isinstance(exc, ccxt.InvalidOrder | ccxt.BadRequest | ccxt.OperationRejected):
        return _invalid(msg, detail, code)
    if isinstance(exc, ccxt.NotSupported | ccxt.ArgumentsRequired):
        return errors.InvalidOrder(
            "This exchange does not support that request.", detail=detail, code=code
        )
    return _transport(exc, op=op, http_status=http_status, detail=detail, code=code)


def _by_code(exc, code, *, op, http_status, headers, detail):
    if code in KEY_CODES:
        return errors.KeyRejected(disable_key=True, detail=detail, code=code)
    if code == "-1021":
        return errors.TimestampSkew(detail=detail, code=code)
    if code in RATE_CODES:
        return _rate_limited(http_status, headers, detail, code)
    if code in UNKNOWN_OUTCOME_CODES:
        if op in WRITES:
            return errors.OutcomeUnknown(detail=detail, code=code)
        return errors.ExchangeUnavailable(detail=detail, code=code)
    return None


def _invalid(msg: str, detail: str, code: str) -> errors.InvalidOrder:
    text = f"The exchange refused the order: {msg}" if msg else None
    return errors.InvalidOrder(text, detail=detail, code=code)


def _transport(exc, *, op, http_status, detail, code) -> errors.ExchangeError:
    """Timeouts, 5xx, resets, unparsable bodies, unknown codes: did a write land?"""
    if _not_sent(exc):
        return errors.ExchangeUnavailable(detail=detail, code=code)
    if op not in WRITES:
        return errors.ExchangeUnavailable(detail=detail, code=code)
    if type(exc) is ccxt.ExchangeError and http_status is not None and 400 <= http_status < 500:
        # A 4xx with an unrecognised code is still a definite "no" from the exchange.
        return _invalid(errors.exchange_body(str(exc))[1], detail, code)
    return errors.OutcomeUnknown(detail=detail, code=code)


def _not_sent(exc: BaseException) -> bool:
    """True when the request provably never reached the exchange (connect refused / timed out)."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return True
        if isinstance(cause, requests.exceptions.ConnectionError) and (
            "NewConnectionError" in repr(cause) or "Connection refused" in str(cause)
        ):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _rate_limited(http_status, headers, detail, code) -> errors.RateLimited:
    retry_after = retry_after_seconds(headers)
    if retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER.get(http_status or 429, 5.0)
    return errors.RateLimited(retry_after=retry_after, detail=detail, code=code)


def retry_after_seconds(headers) -> float | None:
    """Read a Retry-After header (seconds or HTTP date) from ccxt's last_response_headers."""
    if not headers:
        return None
    value = None
    for name, item in dict(headers).items():
        if str(name).lower() == "retry-after":
            value = str(item).strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = from_ms(ccxt.Exchange.milliseconds())
    return max((when - now).total_seconds(), 0.0)

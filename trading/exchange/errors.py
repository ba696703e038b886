"""The documented exchange errors: every ccxt exception becomes one of these.

Each says what the caller should do; `user_message` is safe to show a person and `detail` is a
scrubbed technical note (no URL query, signature, key or secret) for logs and audit rows.

- ScopeRefused: keytrade's own least-privilege guard refused; nothing was sent.
- ForbiddenOperation: a withdrawal or transfer was attempted; nothing was sent, ever.
- KeyRejected: the exchange refused the key (auth, IP, permission); disable it if `disable_key`.
- InsufficientFunds, InvalidOrder: a definite "no" to this order; do not retry.
- DuplicateOrder: our client order id is already there ("Duplicate order sent."): it landed,
  so reconcile.
- OrderNotFound: no such order (yet: reconcile tolerates visibility lag).
- RateLimited: 429/418/-1003; nothing landed; retry after `retry_after` s with the same id.
- TimestampSkew: -1021 even after one time resync; nothing landed; retry later.
- OutcomeUnknown: a write may or may not have landed (timeout, 5xx, -1006/-1007, unreadable
  body); reconcile by client order id, never re-create.
- ExchangeUnavailable: a read failed, or a write provably never left; retry later.
"""

from __future__ import annotations

import json
import re

from keytrade.logging import redact


class ExchangeError(Exception):
    """Base of keytrade's exchange errors; str() is the user message."""

    user_message = "The exchange request failed."
    retryable = False

    def __init__(self, user_message: str | None = None, *, detail: str = "", code: str = ""):
        self.user_message = user_message or self.user_message
        self.detail = scrub(detail)
        self.code = code
        super().__init__(self.user_message)


class ScopeRefused(ExchangeError):
    user_message = "This key is not allowed to do that in keytrade."


class ForbiddenOperation(ExchangeError):
    user_message = (
        "keytrade never moves funds off an exchange: withdrawals and transfers are disabled."
    )


class KeyRejected(ExchangeError):
    user_message = "The exchange rejected this key: check its IP whitelist and permissions."

    def __init__(self, user_message=None, *, disable_key: bool = True, **kwargs):
        self.disable_key = disable_key
        super().__init__(user_message, **kwargs)


class InsufficientFunds(ExchangeError):
    user_message = "The exchange says the account has insufficient balance for this order."


class InvalidOrder(ExchangeError):
    user_message = "The exchange refused the order."


class DuplicateOrder(InvalidOrder):
    user_message = "Duplicate order sent."


class OrderNotFound(ExchangeError):
    user_message = "The exchange has no such order."


class RateLimited(ExchangeError):
    retryable = True

    def __init__(self, user_message=None, *, retry_after: float = 1.0, **kwargs):
        self.retry_after = max(float(retry_after), 0.0)
        super().__init__(
            user_message
            or f"The exchange is limiting requests; keytrade retries in {self.retry_after:g} s.",
            **kwargs,
        )


class TimestampSkew(ExchangeError):
    user_message = (
        "The server clock is out of step with the exchange; keytrade resynchronised and will retry."
    )
    retryable = True


class OutcomeUnknown(ExchangeError):
    user_message = (
        "The exchange did not confirm the order in time; keytrade is checking whether it landed."
    )
    retryable = True


class ExchangeUnavailable(ExchangeError):
    user_message = "The exchange could not be reached; keytrade will try again shortly."
    retryable = True


_QUERY_RE = re.compile(r"\?\S*")
_URL_SECRET_RE = re.compile(r"(?i)(signature|timestamp|apikey|api_key|secret)=[^&\s\"']*")


def scrub(text: str) -> str:
    """Remove URL queries, signatures and registered secrets from an exception text."""
    if not text:
        return ""
    text = _QUERY_RE.sub("?…", str(text))
    text = _URL_SECRET_RE.sub(lambda m: m.group(1) + "=…", text)
    return redact(text)[:500]


def exchange_body(message: str) -> tuple[str, str]:
    """Return (code, msg) from a ccxt message like 'binance {"code":-2010,"msg":"..."}'."""
    start = message.find("{")
    if start < 0:
        return "", ""
    try:
        body = json.loads(message[start:])
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    code = body.get("code", "")
    msg = body.get("msg") or body.get("message") or ""
    return (str(code) if code not in (None, "") else ""), str(msg)[:200]

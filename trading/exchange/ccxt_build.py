"""Build guarded ccxt instances: the capability table and the withdraw/transfer guard.

Per-exchange differences are data here (a capability table), not subclasses. The one subclass is
the guard, applied to every ccxt class: it refuses any withdraw or transfer endpoint at `sign()`,
the last step before a request is built, so no code path can reach one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ccxt
from django.conf import settings

from trading.exchange import errors

PAPER = "paper"
_FORBIDDEN_PATH = re.compile(r"(?i)withdraw|transfer")
_BINANCE_SPOT_OPTIONS = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchOpenOrders": {"warnWithoutSymbol": False},
}


@dataclass(frozen=True)
class Capability:
    ccxt_class: str
    options: dict
    permissions: str = ""  # how key_permissions() asks: "binance" or "" (not reported)


CAPABILITIES = {
    PAPER: Capability("binance", _BINANCE_SPOT_OPTIONS, permissions="binance"),
    "binance": Capability("binance", _BINANCE_SPOT_OPTIONS, permissions="binance"),
}


def capability(exchange_id: str) -> Capability:
    """Return how keytrade drives an exchange id (any ccxt id works with defaults)."""
    if exchange_id in CAPABILITIES:
        return CAPABILITIES[exchange_id]
    if exchange_id not in ccxt.exchanges:
        raise errors.InvalidOrder(f"keytrade does not know the exchange {exchange_id!r}.")
    return Capability(exchange_id, {})


def paper_urls(base: str) -> dict:
    """The whole urls['api'] dict for the paper exchange (wire doc §1.1): unserved sections fail."""
    base = base.rstrip("/")
    return {
        "public": base + "/api/v3",
        "private": base + "/api/v3",
        "v1": base + "/api/v1",
        "sapi": base + "/sapi/v1",
        "sapiV2": base + "/sapi/v2",
        "sapiV3": base + "/sapi/v3",
        "sapiV4": base + "/sapi/v4",
    }


_GUARDED: dict[type, type] = {}


def guarded_class(base: type) -> type:
    """Return a subclass of a ccxt class that refuses withdrawals and transfers."""
    if base in _GUARDED:
        return _GUARDED[base]

    class Guarded(base):
        last_http_status: int | None = None

        def sign(self, path, *args, **kwargs):
            if _FORBIDDEN_PATH.search(str(path)):
                raise errors.ForbiddenOperation(detail=f"refused endpoint {path}")
            return super().sign(path, *args, **kwargs)

        def handle_errors(self, code, *args, **kwargs):
            # Remember the HTTP status so translation can tell a 4xx refusal from a 5xx.
            self.last_http_status = code
            return super().handle_errors(code, *args, **kwargs)

        def withdraw(self, *args, **kwargs):
            raise errors.ForbiddenOperation(detail="refused withdraw()")

        def transfer(self, *args, **kwargs):
            raise errors.ForbiddenOperation(detail="refused transfer()")

    Guarded.__name__ = f"Guarded{base.__name__}"
    _GUARDED[base] = Guarded
    return Guarded


def build_ccxt(exchange_id: str, *, api_key: str, secret: str, password: str = ""):
    """Return a guarded ccxt instance for an exchange id and decrypted credentials."""
    cap = capability(exchange_id)
    cls = guarded_class(getattr(ccxt, cap.ccxt_class))
    config = {
        "apiKey": api_key,
        "secret": secret,
        "timeout": settings.EXCHANGE_TIMEOUT_MS,
        "enableRateLimit": True,
        # One request per create_order: retries are the order path's decision, never ccxt's.
        "options": {**cap.options, "maxRetriesOnFailure": 0},
    }
    if password:
        config["password"] = password
    if exchange_id == PAPER:
        config["rateLimit"] = settings.PAPER_EXCHANGE_RATE_LIMIT_MS
    ex = cls(config)
    if exchange_id == PAPER:
        ex.urls["api"] = paper_urls(settings.PAPER_EXCHANGE_URL)
    ex.has["withdraw"] = False
    ex.has["transfer"] = False
    return ex

"""Build an ExchangeClient for a stored key, in the worker, at the moment it is needed.

Credentials are decrypted here (accounts' key_credentials fails closed and marks an
undecryptable key), registered with the log redactor, and handed straight to ccxt. Built ccxt
instances are kept per thread, keyed by a digest of the credentials, so a worker reuses its
HTTP connection and loaded markets. A rotated key gets a fresh instance, and building it evicts
the key's older instances, so no client holds replaced credentials past the next call.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from django.views.decorators.debug import sensitive_variables

from accounts.services.keys import key_credentials
from keytrade.logging import register_secret
from trading.exchange.ccxt_build import build_ccxt
from trading.exchange.client import ExchangeClient, Scopes

_local = threading.local()
_MAX_CACHED = 32


def _cache() -> OrderedDict:
    if not hasattr(_local, "clients"):
        _local.clients = OrderedDict()
    return _local.clients


def client_for_key(key) -> ExchangeClient:
    """Return an ExchangeClient for an accounts.ExchangeKey (raises KeyUndecryptable)."""
    creds = key_credentials(key_id=key.pk)
    for value in (creds.api_key, creds.secret, creds.passphrase):
        register_secret(value)
    digest = hashlib.sha256(
        "\0".join((key.exchange, creds.api_key, creds.secret, creds.passphrase or "")).encode()
    ).hexdigest()
    cache = _cache()
    cache_key = (str(key.pk), digest)
    ex = cache.get(cache_key)
    if ex is None:
        forget_key_clients(key.pk)
        ex = build_ccxt(
            key.exchange, api_key=creds.api_key, secret=creds.secret, password=creds.passphrase
        )
        cache[cache_key] = ex
        while len(cache) > _MAX_CACHED:
            cache.popitem(last=False)
    cache.move_to_end(cache_key)
    scopes = Scopes(read=bool(key.scope_read), trade=bool(key.scope_trade))
    return ExchangeClient(ex, exchange_id=key.exchange, scopes=scopes)


@sensitive_variables("api_key", "secret", "passphrase")
def client_for_credentials(
    *, exchange: str, api_key: str, secret: str, passphrase: str = "", scopes: Scopes
) -> ExchangeClient:
    """Return an uncached ExchangeClient for credentials that are not stored (yet).

    For checking a replacement key before it is saved: nothing is persisted or cached, and
    the values are registered with the log redactor first.
    """
    for value in (api_key, secret, passphrase):
        register_secret(value)
    ex = build_ccxt(exchange, api_key=api_key, secret=secret, password=passphrase)
    return ExchangeClient(ex, exchange_id=exchange, scopes=scopes)


def forget_key_clients(key_id) -> None:
    """Drop this thread's cached ccxt instances for one key (its credentials were replaced)."""
    cache = _cache()
    for cache_key in [k for k in cache if k[0] == str(key_id)]:
        del cache[cache_key]


def forget_clients() -> None:
    """Drop this thread's cached ccxt instances (tests, key revocation)."""
    _cache().clear()

"""Build an ExchangeClient for a stored key, in the worker, at the moment it is needed.

Credentials are decrypted here (accounts' key_credentials_unseal fails closed and marks an
undecryptable key), registered with the log redactor, and handed straight to ccxt. Built ccxt
instances are kept per thread, keyed by the digest of the stored ciphertexts (and the vault keys
in force), so a worker reuses its HTTP connection and loaded markets, and a call that finds its
instance decrypts nothing: the secrets already live in that instance. The ciphertexts are read
on every call, so a rotated key (new ciphertexts) gets a fresh instance at once, and building
it evicts the key's older instances: no client holds replaced credentials past the next call.
A key that no longer decrypts (tampered data, changed server keys) misses the cache and fails.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.views.decorators.debug import sensitive_variables

from accounts.services.keys import (
    SealedCredentials,
    key_credentials_sealed,
    key_credentials_unseal,
)
from keytrade.logging import register_secret
from trading.exchange.ccxt_build import build_ccxt
from trading.exchange.client import ExchangeClient, Scopes

_local = threading.local()
_MAX_CACHED = 32


def _cache() -> OrderedDict:
    if not hasattr(_local, "clients"):
        _local.clients = OrderedDict()
    return _local.clients


def client_for_key(key, *, sealed: SealedCredentials | None = None) -> ExchangeClient:
    """Return an ExchangeClient for an accounts.ExchangeKey (raises KeyUndecryptable).

    `sealed`: the key's credentials as stored, when the caller has just read them (the order
    path reads them with its claim); otherwise they are read here.
    """
    if sealed is None:
        sealed = key_credentials_sealed(key_id=key.pk)
    cache = _cache()
    cache_key = (str(key.pk), key.exchange, sealed.digest)
    ex = cache.get(cache_key)
    if ex is None:
        creds = key_credentials_unseal(sealed)  # registers the secrets with the log redactor
        forget_key_clients(key.pk)
        ex = build_ccxt(
            key.exchange, api_key=creds.api_key, secret=creds.secret, password=creds.passphrase
        )
        cache[cache_key] = ex
        while len(cache) > _MAX_CACHED:
            cache.popitem(last=False)
    else:
        for value in (ex.apiKey, ex.secret, ex.password):
            register_secret(value)  # already registered when built; a set lookup each
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

"""Which exchanges keytrade can connect to, and which credentials each one needs (from ccxt)."""

from functools import lru_cache

import ccxt

PAPER_ID = "paper"
PAPER_NAME = "keytrade paper exchange"
# ccxt's credential names → keytrade's. keytrade stores exactly these three.
_STORED = {"apiKey": "api_key", "secret": "secret", "password": "passphrase"}
STORED_CREDENTIALS = tuple(_STORED.values())


@lru_cache(maxsize=1)
def _catalog() -> dict[str, tuple[str, dict[str, bool]]]:
    catalog = {PAPER_ID: (PAPER_NAME, {"api_key": True, "secret": True})}
    for exchange_id in ccxt.exchanges:
        # Instances, not classes: ccxt fills requiredCredentials from describe() on init.
        client = getattr(ccxt, exchange_id)()
        required = {
            _STORED.get(name, name): True
            for name, needed in client.requiredCredentials.items()
            if needed
        }
        catalog[exchange_id] = (client.name or exchange_id, required)
    return catalog


def exchange_choices() -> list[tuple[str, str]]:
    """Return (id, name) for the paper exchange and every exchange ccxt supports."""
    catalog = _catalog()
    others = sorted((eid for eid in catalog if eid != PAPER_ID), key=str.lower)
    return [(eid, catalog[eid][0]) for eid in (PAPER_ID, *others)]


def required_credentials(exchange_id: str) -> dict[str, bool]:
    """Return the credentials an exchange requires, named as keytrade stores them.

    Keys are `api_key`, `secret`, `passphrase` (ccxt's `password`), or ccxt's own name for a
    credential keytrade cannot store (`uid`, `privateKey`, `walletAddress`, ...). Raises
    KeyError for an unknown exchange id.
    """
    return dict(_catalog()[exchange_id][1])


def unsupported_credentials(exchange_id: str) -> list[str]:
    """Return the required credentials keytrade cannot store for this exchange (empty if none)."""
    required = required_credentials(exchange_id)
    missing = [name for name in required if name not in STORED_CREDENTIALS]
    # The fingerprint and duplicate check are built on the API key and every client signs
    # with a secret, so exchanges without both cannot be connected either.
    missing += [name for name in ("api_key", "secret") if name not in required]
    return missing


@lru_cache(maxsize=1)
def credential_map() -> dict[str, dict]:
    """Return {id: {name, passphrase, unsupported}} for the connect page's script."""
    return {
        exchange_id: {
            "name": name,
            "passphrase": bool(required_credentials(exchange_id).get("passphrase")),
            "unsupported": unsupported_credentials(exchange_id),
        }
        for exchange_id, name in exchange_choices()
    }

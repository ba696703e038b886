"""The connect-key page offers every ccxt exchange plus paper, with ccxt's credential rules."""

import ccxt
import pytest

from trading.exchange.catalog import (
    credential_map,
    exchange_choices,
    required_credentials,
    unsupported_credentials,
)


def test_every_ccxt_exchange_and_paper_is_offered():
    ids = [exchange_id for exchange_id, _name in exchange_choices()]
    assert ids[0] == "paper"
    assert set(ids) == {"paper", *ccxt.exchanges}
    assert dict(exchange_choices())["paper"] == "keytrade paper exchange"
    assert dict(exchange_choices())["binance"] == "Binance"


@pytest.mark.parametrize(
    ("exchange_id", "expected"),
    [
        ("paper", {"api_key": True, "secret": True}),
        ("binance", {"api_key": True, "secret": True}),
        ("okx", {"api_key": True, "secret": True, "passphrase": True}),
        ("kucoin", {"api_key": True, "secret": True, "passphrase": True}),
    ],
)
def test_required_credentials_follow_ccxt(exchange_id, expected):
    assert required_credentials(exchange_id) == expected
    assert unsupported_credentials(exchange_id) == []


def test_exchanges_needing_credentials_keytrade_cannot_store_are_flagged():
    # Hyperliquid signs with a wallet's private key, not an API key and secret.
    assert "privateKey" in unsupported_credentials("hyperliquid")
    assert credential_map()["hyperliquid"]["unsupported"]
    assert credential_map()["okx"] == {"name": "OKX", "passphrase": True, "unsupported": []}


def test_unknown_exchange_raises_key_error():
    with pytest.raises(KeyError):
        required_credentials("not-an-exchange")

"""Verifying a key against the exchange: scopes, IP restriction, and keys that move funds."""

import pytest

from accounts.models import AuditEvent, ExchangeKey
from tests.trading.conftest import paper_key_for
from trading.exchange import errors
from trading.services.keys import key_scope_mismatches, key_verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connect_paper(trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1

    def make(**paper_options):
        api_key, secret = paper_key(user=trader, **paper_options)
        return paper_key_for(trader, api_key=api_key, secret=secret)

    return make


def fresh(key) -> ExchangeKey:
    return ExchangeKey.objects.defer("api_key", "secret", "passphrase").get(pk=key.pk)


def test_a_trading_key_is_verified_with_its_scopes(connect_paper):
    key = connect_paper(trade=True, ip=["127.0.0.1"])
    perms = key_verify(key_id=key.pk)
    key = fresh(key)
    assert perms.trade and perms.read and not perms.moves_funds
    assert key.verified_scopes == {
        "read": True,
        "trade": True,
        "withdraw": False,
        "transfer": False,
    }
    assert key.verified_ip_restricted is True and key.verified_at is not None
    assert key.status == ExchangeKey.Status.ACTIVE
    assert key_scope_mismatches(key) == []


def test_a_key_that_can_withdraw_is_disabled_at_once(connect_paper):
    key = connect_paper(withdraw=True)
    key_verify(key_id=key.pk)
    key = fresh(key)
    assert key.status == ExchangeKey.Status.DISABLED
    assert "withdraw" in key.status_reason
    assert AuditEvent.objects.filter(event_type="key.disabled", target_id=str(key.pk)).exists()
    assert "can withdraw" in " ".join(key_scope_mismatches(key))


def test_declared_trade_scope_the_exchange_denies_is_shown(connect_paper):
    key = connect_paper(trade=False)
    key_verify(key_id=key.pk)
    assert key_scope_mismatches(fresh(key)) == [
        "Declared trade, but the exchange says this key cannot trade."
    ]


def test_a_whitelist_that_excludes_this_server_is_reported(connect_paper):
    key = connect_paper(ip=["203.0.113.9"])
    with pytest.raises(errors.KeyRejected) as caught:
        key_verify(key_id=key.pk)
    assert "IP whitelist" in caught.value.user_message
    key = fresh(key)
    assert key.status == ExchangeKey.Status.DISABLED
    assert "IP whitelist" in key.last_error

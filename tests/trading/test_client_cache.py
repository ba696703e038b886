"""A worker reuses a key's ccxt client without decrypting, and never past a change of the key.

The client is found by the digest of the stored ciphertexts (and the server's keys), read on
every call; the secrets already live in the cached client, so a hit decrypts nothing.
"""

import pytest
from cryptography.fernet import Fernet

import accounts.fields
from accounts.models import AuditEvent, ExchangeKey
from accounts.services.keys import KeyUndecryptable, key_credentials_sealed
from tests.trading.conftest import paper_key_for
from tests.vault_helpers import raw_column, write_raw_column
from trading.exchange import connect
from trading.exchange.connect import client_for_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(trader):
    return paper_key_for(trader)


@pytest.fixture
def decryptions(monkeypatch):
    calls = []
    real = accounts.fields.decrypt_value

    def counting(token, keys=None):
        calls.append(1)
        return real(token, keys)

    monkeypatch.setattr(accounts.fields, "decrypt_value", counting)
    return calls


def test_a_second_call_reuses_the_client_and_decrypts_nothing(key, decryptions):
    first = client_for_key(key)
    assert len(decryptions) == 3  # api key, secret, passphrase
    second = client_for_key(key)
    assert second._ex is first._ex
    assert len(decryptions) == 3
    assert second._ex.apiKey == "PAPERkey0123456789abcdef"


def test_a_tampered_ciphertext_fails_closed_even_with_a_cached_client(key):
    client_for_key(key)
    stored = bytearray(raw_column(key.pk, "secret"))
    stored[len(stored) // 2] ^= 0x01
    write_raw_column(key.pk, "secret", bytes(stored))
    with pytest.raises(KeyUndecryptable):
        client_for_key(key)
    status = ExchangeKey.objects.filter(pk=key.pk).values_list("status", flat=True).get()
    assert status == ExchangeKey.Status.UNDECRYPTABLE
    assert AuditEvent.objects.filter(event_type="key.undecryptable").count() == 1
    with pytest.raises(KeyUndecryptable):  # and stays so, without a second audit row
        client_for_key(key)
    assert AuditEvent.objects.filter(event_type="key.undecryptable").count() == 1


def test_changed_server_keys_make_a_cached_client_unusable(key, settings):
    client_for_key(key)
    settings.CRYPTOGRAPHY_KEY = Fernet.generate_key().decode()
    with pytest.raises(KeyUndecryptable):
        client_for_key(key)


def test_new_ciphertexts_build_a_new_client_and_drop_the_old(key, trader):
    old = client_for_key(key)._ex
    ExchangeKey.objects.filter(pk=key.pk).update(secret="PAPERsecretREPLACED456789")
    new = client_for_key(key)._ex
    assert new is not old and new.secret == "PAPERsecretREPLACED456789"
    entries = [k for k in connect._cache() if k[0] == str(key.pk)]
    assert len(entries) == 1


def test_the_digest_names_neither_secret_nor_ciphertext(key):
    sealed = key_credentials_sealed(key_id=key.pk)
    shown = repr(sealed) + str(sealed)
    assert "PAPERsecret" not in shown and "PAPERkey" not in shown
    assert raw_column(key.pk, "secret").hex() not in shown

"""Rotating SECRET_KEY and CRYPTOGRAPHY_KEY re-encrypts every secret, resumably and once."""

import io
import os
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.canary import check_encryption
from accounts.encryption import (
    DecryptionError,
    api_key_digest,
    current_keys,
    decrypt_value,
    old_keys,
    vault_keys,
)
from accounts.models import AuditEvent, EncryptionCanary, ExchangeKey
from accounts.services.keys import Credentials, key_credentials
from accounts.services.rotation import vault_rotate
from tests.vault_helpers import (
    API_KEY,
    PASSPHRASE,
    SECRET,
    connect,
    grant_connect,
    raw_column,
    write_raw_column,
)

pytestmark = pytest.mark.django_db

# The keys the test suite starts with, as the environment gives them (raw strings).
OLD_SECRET_KEY = os.environ["SECRET_KEY"]
OLD_CRYPTOGRAPHY_KEY = os.environ["CRYPTOGRAPHY_KEY"]
NEW_SECRET_KEY = "rotated-secret-key-" + "n" * 40
NEW_CRYPTOGRAPHY_KEY = "3q1Zb8nW0uXr5yT2pL7kD4sF9gH6jC1aV0eM8oN2iQ4="


@pytest.fixture
def stored_keys(alice, bob):
    alice, bob = grant_connect(alice), grant_connect(bob)
    return [
        connect(alice, exchange="okx", passphrase=PASSPHRASE),
        connect(alice, exchange="kraken", label="Kraken"),
        connect(bob, api_key="BOBkey-000111222333", secret="bob-secret-999888777"),
    ]


@pytest.fixture
def rotated_settings(settings):
    """The process now runs with new keys; the old ones are given for the rotation."""
    settings.SECRET_KEY = NEW_SECRET_KEY
    settings.CRYPTOGRAPHY_KEY = NEW_CRYPTOGRAPHY_KEY
    settings.OLD_SECRET_KEY = OLD_SECRET_KEY
    settings.OLD_CRYPTOGRAPHY_KEY = OLD_CRYPTOGRAPHY_KEY
    return settings


def _rotate(**options) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out, **options)
    return out.getvalue()


def _versions() -> Counter:
    return Counter(
        [*ExchangeKey.objects.values_list("enc_key_version", flat=True)]
        + [*EncryptionCanary.objects.values_list("enc_key_version", flat=True)]
    )


def _raw_secrets(keys) -> list[bytes]:
    return [raw_column(key.pk, "secret") for key in keys]


def test_rotating_both_keys_keeps_every_secret_readable(stored_keys, rotated_settings):
    old = vault_keys(secret_key=OLD_SECRET_KEY, cryptography_key=OLD_CRYPTOGRAPHY_KEY)
    assert check_encryption()[0] is False  # new keys, old ciphertexts: the canary notices

    output = _rotate()

    assert "re-encrypted: 4, already current: 0, unreadable: 0" in output
    new = current_keys()
    assert check_encryption() == (True, "ok")
    assert _versions() == Counter({new.version: 4})
    okx, kraken, bobs = stored_keys
    assert key_credentials(key_id=okx.pk) == Credentials(API_KEY, SECRET, PASSPHRASE)
    assert key_credentials(key_id=kraken.pk) == Credentials(API_KEY, SECRET, "")
    assert key_credentials(key_id=bobs.pk) == Credentials(
        "BOBkey-000111222333", "bob-secret-999888777", ""
    )
    for key in stored_keys:
        key.refresh_from_db(fields=["api_key_digest"])
        assert key.api_key_digest == api_key_digest(key_credentials(key_id=key.pk).api_key, new)
        # Decryptable only under the new configuration.
        with pytest.raises(DecryptionError):
            decrypt_value(raw_column(key.pk, "secret"), old)
    assert AuditEvent.objects.filter(event_type="vault.rotated").count() == 1


def test_a_second_run_changes_nothing(stored_keys, rotated_settings):
    _rotate()
    before = _raw_secrets(stored_keys)

    output = _rotate()

    assert "re-encrypted: 0, already current: 4, unreadable: 0" in output
    assert _raw_secrets(stored_keys) == before
    assert AuditEvent.objects.filter(event_type="vault.rotated").count() == 1


def test_rotating_only_the_secret_key(stored_keys, settings):
    settings.SECRET_KEY = NEW_SECRET_KEY
    settings.OLD_SECRET_KEY = OLD_SECRET_KEY
    assert "re-encrypted: 4" in _rotate()
    assert key_credentials(key_id=stored_keys[0].pk).secret == SECRET


def test_a_run_killed_part_way_resumes_without_double_encryption(stored_keys, rotated_settings):
    batches = []

    def die_after_two_batches(label, report):
        batches.append(label)
        if len(batches) == 2:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        vault_rotate(old=old_keys(), batch_size=1, on_batch=die_after_two_batches)
    new = current_keys().version
    # Canary and the first key were committed under the new keys; the rest are untouched.
    assert _versions()[new] == 2

    output = _rotate(batch_size=1)

    assert "re-encrypted: 2, already current: 2, unreadable: 0" in output
    assert _versions() == Counter({new: 4})
    for key in stored_keys:
        assert key_credentials(key_id=key.pk).api_key


def test_a_row_readable_with_neither_key_is_reported_and_left_alone(stored_keys, rotated_settings):
    damaged = stored_keys[1]
    stored = bytearray(raw_column(damaged.pk, "secret"))
    stored[-1] ^= 0xFF
    write_raw_column(damaged.pk, "secret", bytes(stored))

    with pytest.raises(CommandError, match=str(damaged.pk)):
        _rotate()

    assert raw_column(damaged.pk, "secret") == bytes(stored)
    assert key_credentials(key_id=stored_keys[0].pk).passphrase == PASSPHRASE


def test_without_old_keys_it_only_checks(stored_keys):
    output = _rotate()
    assert "only checking" in output
    assert "re-encrypted: 0, already current: 4, unreadable: 0" in output

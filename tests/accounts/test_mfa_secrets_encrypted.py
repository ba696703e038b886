"""Two-factor secrets are stored encrypted with the vault keys, rotate with them, fail closed."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection

from accounts.encryption import DecryptionError, old_keys
from accounts.mfa_adapter import MFAAdapter, is_encrypted, mfa_decrypt
from accounts.services.rotation import vault_rotate
from tests.accounts.conftest import TOTP_SECRET, enrol_totp, full_login, totp_code
from tests.accounts.test_vault_rotation import (
    NEW_CRYPTOGRAPHY_KEY,
    NEW_SECRET_KEY,
    OLD_CRYPTOGRAPHY_KEY,
    OLD_SECRET_KEY,
)

pytestmark = pytest.mark.django_db


def _raw_data(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def test_the_totp_secret_and_recovery_seed_are_not_stored_in_clear(alice):
    totp = enrol_totp(alice)
    codes = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    assert TOTP_SECRET not in _raw_data(totp.pk)
    assert is_encrypted(totp.data["secret"]) and is_encrypted(codes.data["seed"])
    assert mfa_decrypt(totp.data["secret"]) == TOTP_SECRET
    # The same secret encrypts differently each time.
    assert MFAAdapter().encrypt(TOTP_SECRET) != MFAAdapter().encrypt(TOTP_SECRET)


def test_login_with_a_code_still_works(client, alice, frozen_totp_clock):
    enrol_totp(alice)
    response = full_login(client, "alice", totp_code(TOTP_SECRET, frozen_totp_clock))
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200


def test_a_plaintext_or_tampered_secret_fails_closed():
    with pytest.raises(DecryptionError):
        MFAAdapter().decrypt(TOTP_SECRET)
    stored = MFAAdapter().encrypt(TOTP_SECRET)
    with pytest.raises(DecryptionError):
        MFAAdapter().decrypt(stored[:-4] + "AAAA")


def test_rotating_the_vault_keys_reencrypts_two_factor_secrets(alice, settings):
    totp = enrol_totp(alice)
    before = totp.data["secret"]
    settings.SECRET_KEY, settings.CRYPTOGRAPHY_KEY = NEW_SECRET_KEY, NEW_CRYPTOGRAPHY_KEY
    settings.OLD_SECRET_KEY, settings.OLD_CRYPTOGRAPHY_KEY = OLD_SECRET_KEY, OLD_CRYPTOGRAPHY_KEY
    # Before the rotation runs, the old keys still read (users can log in meanwhile).
    assert MFAAdapter().decrypt(before) == TOTP_SECRET

    report = vault_rotate(old=old_keys())
    assert report.unreadable == []

    totp.refresh_from_db()
    assert totp.data["secret"] != before
    settings.OLD_SECRET_KEY = settings.OLD_CRYPTOGRAPHY_KEY = ""
    assert MFAAdapter().decrypt(totp.data["secret"]) == TOTP_SECRET
    with pytest.raises(DecryptionError):
        MFAAdapter().decrypt(before)
    # A second run changes nothing.
    assert vault_rotate(old=None).reencrypted == 0


def test_the_code_check_uses_the_decrypted_secret(alice):
    totp = TOTP(enrol_totp(alice))
    assert totp.validate_code(totp_code(TOTP_SECRET, time.time()))


def test_the_migration_encrypts_secrets_stored_in_clear_before_it(alice):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0008_encrypt_two_factor_secrets")
    totp = enrol_totp(alice)
    Authenticator.objects.filter(pk=totp.pk).update(data={"secret": TOTP_SECRET})

    migration.encrypt_existing(apps, None)

    totp.refresh_from_db()
    assert TOTP_SECRET not in _raw_data(totp.pk)
    assert MFAAdapter().decrypt(totp.data["secret"]) == TOTP_SECRET

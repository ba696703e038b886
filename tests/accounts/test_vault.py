"""The exchange-key vault: credentials are encrypted at rest, write-only, and fail closed."""

import io
import json
from pathlib import Path

import pytest
from django.core import serializers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, models
from django_cryptography.fields import encrypt

from accounts.encryption import current_keys, decrypt_value, encrypt_value
from accounts.models import AuditEvent, ExchangeKey
from accounts.services.keys import (
    UNDECRYPTABLE_REASON,
    Credentials,
    KeyUndecryptable,
    key_credentials,
    key_delete,
    key_disable,
    key_mark_used,
    key_update,
)
from keytrade.logging import redact
from tests.vault_helpers import (
    API_KEY,
    PASSPHRASE,
    SECRET,
    connect,
    enable_mfa,
    grant_connect,
    leaks,
    raw_column,
    raw_row,
    write_raw_column,
)

pytestmark = pytest.mark.django_db

OTHER_CRYPTOGRAPHY_KEY = "0Yb7s5mB6Kk3bq0oD3Q1y7cX9v2n4Lr8tJ5hF1gE2dA="


@pytest.fixture
def trader(alice):
    return grant_connect(alice)


@pytest.fixture
def okx_key(trader):
    return connect(trader, exchange="okx", passphrase=PASSPHRASE)


def _events(event_type: str) -> int:
    return AuditEvent.objects.filter(event_type=event_type).count()


# --- at rest ----------------------------------------------------------------------------


def test_stored_row_holds_no_credential_in_any_encoding(okx_key):
    row = b"|".join(
        value if isinstance(value, bytes) else str(value).encode() for value in raw_row(okx_key.pk)
    )
    assert leaks(row, SECRET, PASSPHRASE, API_KEY) == []
    assert okx_key.fingerprint.encode() in row  # the row is the right one


def _every_table_dumped() -> bytes:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                parts += [
                    bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row
                ]
    return b"|".join(parts)


@pytest.mark.django_db(transaction=True)
def test_the_database_holds_no_credential_anywhere(alice):
    """Every table (audit trail included), and on SQLite the database file itself."""
    connect(grant_connect(alice), exchange="okx", passphrase=PASSPHRASE)
    everything = _every_table_dumped()
    assert b"okx" in everything  # the key was written and committed
    assert leaks(everything, SECRET, PASSPHRASE, API_KEY) == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
        path = Path(connection.settings_dict["NAME"])
        blob = b"".join(
            p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
        assert b"okx" in blob
        assert leaks(blob, SECRET, PASSPHRASE, API_KEY) == []


def test_dumpdata_writes_ciphertext_that_loads_back(okx_key):
    out = io.StringIO()
    call_command("dumpdata", "accounts.exchangekey", stdout=out)
    dumped = out.getvalue()
    assert leaks(dumped, SECRET, PASSPHRASE, API_KEY) == []
    fields = json.loads(dumped)[0]["fields"]
    assert fields["secret"].startswith("encrypted ")
    (restored,) = list(serializers.deserialize("json", dumped))
    assert (restored.object.secret, restored.object.passphrase) == (SECRET, PASSPHRASE)


def test_same_secret_encrypts_differently_each_time(trader, bob):
    first = connect(trader)
    second = connect(grant_connect(bob))
    assert raw_column(first.pk, "secret") != raw_column(second.pk, "secret")
    assert encrypt_value(SECRET) != encrypt_value(SECRET)


def test_stored_format_is_django_cryptographys(okx_key):
    library_field = encrypt(models.TextField())
    assert library_field._load(raw_column(okx_key.pk, "secret")) == SECRET
    assert decrypt_value(library_field._dump(SECRET)) == SECRET


# --- connecting -------------------------------------------------------------------------


def test_connect_stores_a_fingerprint_digest_and_rotation_date(okx_key):
    assert okx_key.fingerprint == f"{API_KEY[:4]}…{API_KEY[-4:]}"
    assert len(okx_key.api_key_digest) == 64 and API_KEY not in okx_key.api_key_digest
    assert (okx_key.rotate_by - okx_key.created_at).days == 90
    assert okx_key.enc_key_version == current_keys().version
    assert _events("key.connected") == 1
    event = AuditEvent.objects.get(event_type="key.connected")
    assert leaks(json.dumps(event.detail), SECRET, PASSPHRASE, API_KEY) == []


def test_ip_whitelist_is_normalised(trader):
    key = connect(trader, ip_whitelist=["10.1.2.3/24", "2001:DB8::1", "10.1.2.0/24", " 192.0.2.1 "])
    assert key.ip_whitelist == ["10.1.2.0/24", "2001:db8::1/128", "192.0.2.1/32"]
    assert key.has_ip_whitelist


BAD_INPUT = [
    pytest.param({"secret": ""}, "secret", id="missing-secret"),
    pytest.param({"api_key": ""}, "api_key", id="missing-api-key"),
    pytest.param({"api_key": "short"}, "api_key", id="api-key-too-short"),
    pytest.param({"secret": "x" * 513}, "secret", id="oversized-secret"),
    pytest.param({"passphrase": "p" * 600}, "passphrase", id="oversized-passphrase"),
    pytest.param({"secret": f" {SECRET}"}, "secret", id="leading-space"),
    pytest.param({"api_key": f"{API_KEY}\n"}, "api_key", id="trailing-newline"),
    pytest.param({"secret": "abc\tdefghij"}, "secret", id="tab"),
    pytest.param({"secret": "abc\x00defghij"}, "secret", id="nul"),
    pytest.param({"passphrase": "abc\u200bdef"}, "passphrase", id="zero-width-space"),
    pytest.param({"ip_whitelist": ["10.0.0.300"]}, "ip_whitelist", id="bad-ipv4"),
    pytest.param({"ip_whitelist": ["10.0.0.0/33"]}, "ip_whitelist", id="bad-prefix"),
    pytest.param({"ip_whitelist": ["2001:db8::g"]}, "ip_whitelist", id="bad-ipv6"),
    pytest.param({"ip_whitelist": "example.com"}, "ip_whitelist", id="hostname"),
    pytest.param({"scope_withdraw": True}, "scope_withdraw", id="withdraw-unconfirmed"),
    pytest.param({"scope_trade": True}, "scope_trade", id="trade-without-2fa"),
    pytest.param({"scope_read": False}, "scope_read", id="no-scope"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_INPUT)
def test_bad_input_is_refused_and_stores_nothing(trader, overrides, field):
    with pytest.raises(ValidationError) as caught:
        connect(trader, **overrides)
    assert field in caught.value.message_dict
    assert leaks(str(caught.value.message_dict), SECRET, PASSPHRASE, API_KEY) == []
    assert ExchangeKey.objects.count() == 0
    assert _events("key.connected") == 0


def test_withdraw_scope_is_kept_only_with_confirmation(trader):
    key = connect(trader, scope_withdraw=True, withdraw_confirmed=True)
    assert key.scope_withdraw and key.withdraw_confirmed


def test_trade_scope_needs_two_factor(trader):
    enable_mfa(trader)
    assert connect(trader, scope_trade=True).scope_trade


def test_duplicate_api_key_is_refused_for_the_same_user_and_exchange(trader, bob):
    connect(trader)
    with pytest.raises(ValidationError) as caught:
        connect(trader, label="again", secret="another-secret-value")
    assert "already connected" in caught.value.message_dict["api_key"][0]
    assert ExchangeKey.objects.filter(user=trader).count() == 1
    # Someone else, or another exchange, may hold the same API key string.
    connect(grant_connect(bob))
    connect(trader, exchange="kraken")
    assert ExchangeKey.objects.count() == 3


def test_a_user_without_the_permission_cannot_connect(bob):
    with pytest.raises(PermissionDenied):
        connect(bob)
    assert ExchangeKey.objects.count() == 0


# --- using, editing, disabling, deleting ----------------------------------------------


def test_credentials_decrypt_and_are_registered_for_redaction(okx_key):
    credentials = key_credentials(key_id=okx_key.pk)
    assert credentials == Credentials(API_KEY, SECRET, PASSPHRASE)
    assert leaks(repr(credentials) + str(credentials), SECRET, PASSPHRASE, API_KEY) == []
    assert redact(f"signing with {SECRET} and {PASSPHRASE}") == (
        "signing with [redacted] and [redacted]"
    )


def test_update_changes_settings_but_never_credentials(trader):
    key = connect(trader)
    before = raw_column(key.pk, "secret"), raw_column(key.pk, "api_key")
    key = ExchangeKey.objects.defer("api_key", "secret", "passphrase").get(pk=key.pk)
    key_update(
        key=key,
        actor=trader,
        label="Renamed",
        scope_read=True,
        scope_trade=False,
        scope_withdraw=False,
        ip_whitelist="198.51.100.0/24",
        rotation_period_days=30,
    )
    key.refresh_from_db(fields=["label", "ip_whitelist", "rotate_by", "created_at"])
    assert key.label == "Renamed" and key.ip_whitelist == ["198.51.100.0/24"]
    assert (key.rotate_by - key.created_at).days == 30
    assert (raw_column(key.pk, "secret"), raw_column(key.pk, "api_key")) == before
    assert AuditEvent.objects.get(event_type="key.updated").detail["changed"]["label"] == [
        "Main",
        "Renamed",
    ]


def test_update_cannot_add_trade_scope_without_two_factor(trader):
    key = connect(trader)
    with pytest.raises(ValidationError) as caught:
        key_update(
            key=key,
            actor=trader,
            label="x",
            scope_read=True,
            scope_trade=True,
            scope_withdraw=False,
            ip_whitelist=[],
            rotation_period_days=90,
        )
    assert "scope_trade" in caught.value.message_dict
    key.refresh_from_db(fields=["scope_trade"])
    assert not key.scope_trade


def test_disable_mark_used_and_delete_are_audited(trader):
    key = connect(trader)
    key_mark_used(key=key)
    key_disable(key=key, reason="Leaked in a screenshot", actor=trader)
    key_disable(key=key, reason="again", actor=trader)  # already disabled: no second event
    key.refresh_from_db(fields=["status", "status_reason", "last_used_at"])
    assert key.status == ExchangeKey.Status.DISABLED
    assert key.status_reason == "Leaked in a screenshot" and key.last_used_at is not None
    assert _events("key.disabled") == 1
    key_delete(key=key, actor=trader)
    assert not ExchangeKey.objects.exists()
    assert AuditEvent.objects.get(event_type="key.deleted").target_id == str(key.pk)


# --- failing closed -----------------------------------------------------------------------


def _assert_undecryptable(key):
    with pytest.raises(KeyUndecryptable) as caught:
        key_credentials(key_id=key.pk)
    assert leaks(str(caught.value) + repr(caught.value), SECRET, PASSPHRASE) == []
    # Raised `from None`: no chained exception can carry the stored bytes into a traceback.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    key.refresh_from_db(fields=["status", "status_reason"])
    assert key.status == ExchangeKey.Status.UNDECRYPTABLE
    assert key.status_reason == UNDECRYPTABLE_REASON
    assert _events("key.undecryptable") == 1


def test_a_flipped_ciphertext_byte_fails_closed(okx_key):
    stored = bytearray(raw_column(okx_key.pk, "secret"))
    stored[len(stored) // 2] ^= 0x01
    write_raw_column(okx_key.pk, "secret", bytes(stored))
    _assert_undecryptable(okx_key)
    # Once marked, it stays refused without decrypting (or auditing) again.
    with pytest.raises(KeyUndecryptable):
        key_credentials(key_id=okx_key.pk)
    assert _events("key.undecryptable") == 1


def test_a_wrong_cryptography_key_fails_closed(okx_key, settings):
    settings.CRYPTOGRAPHY_KEY = OTHER_CRYPTOGRAPHY_KEY
    _assert_undecryptable(okx_key)


def test_a_wrong_secret_key_fails_closed(okx_key, settings):
    settings.SECRET_KEY = "a-different-secret-key-" + "x" * 40
    _assert_undecryptable(okx_key)


def test_undecryptable_error_never_carries_ciphertext(okx_key, settings):
    ciphertext = raw_column(okx_key.pk, "secret")
    settings.CRYPTOGRAPHY_KEY = OTHER_CRYPTOGRAPHY_KEY
    with pytest.raises(KeyUndecryptable) as caught:
        key_credentials(key_id=okx_key.pk)
    text = str(caught.value)
    assert ciphertext.hex() not in text and repr(ciphertext)[2:20] not in text

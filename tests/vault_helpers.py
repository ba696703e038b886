"""Helpers for exchange-key tests: permissions, 2FA, a connected key and raw column reads."""

import base64

from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Permission
from django.db import connection

from accounts.models import ExchangeKey
from accounts.services.keys import key_connect

API_KEY = "AKvault1234567890abcdefghijkLMNOP"
SECRET = "sEcReT-0a1b2c3d4e5f6g7h8i9j-Zz"
PASSPHRASE = "pass-Phrase-77_81"


def grant_connect(user):
    """Give a user the permission to connect keys; return a fresh instance (perm cache)."""
    user.user_permissions.add(
        Permission.objects.get(codename="connect_keys", content_type__model="user")
    )
    return type(user).objects.get(pk=user.pk)


def enable_mfa(user) -> None:
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )


def connect(user, **overrides) -> ExchangeKey:
    kwargs = {
        "user": user,
        "exchange": "binance",
        "label": "Main",
        "api_key": API_KEY,
        "secret": SECRET,
        "passphrase": "",
        "scope_read": True,
        "scope_trade": False,
        "scope_withdraw": False,
        "ip_whitelist": ["203.0.113.7"],
    }
    kwargs.update(overrides)
    return key_connect(**kwargs)


def raw_row(key_id) -> tuple:
    """Return every column of a key's row (model field order) exactly as the database holds it."""
    table = connection.ops.quote_name(ExchangeKey._meta.db_table)
    pk = connection.ops.quote_name("id")
    value = ExchangeKey._meta.pk.get_db_prep_value(key_id, connection)
    columns = ", ".join(
        connection.ops.quote_name(field.column) for field in ExchangeKey._meta.concrete_fields
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {pk} = %s", [value])
        return tuple(bytes(v) if isinstance(v, memoryview) else v for v in cursor.fetchone())


def raw_column(key_id, column: str) -> bytes:
    names = [field.column for field in ExchangeKey._meta.concrete_fields]
    return raw_row(key_id)[names.index(column)]


def write_raw_column(key_id, column: str, value: bytes) -> None:
    table = connection.ops.quote_name(ExchangeKey._meta.db_table)
    pk = connection.ops.quote_name("id")
    key_value = ExchangeKey._meta.pk.get_db_prep_value(key_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {connection.ops.quote_name(column)} = %s WHERE {pk} = %s",
            [value, key_value],
        )


def encodings(secret: str) -> list[bytes]:
    """The plaintext and the encodings a leak could take: base64 (both alphabets) and hex."""
    raw = secret.encode()
    return [
        raw,
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
        raw.hex().encode(),
        raw.hex().upper().encode(),
    ]


def leaks(blob: bytes | str, *secrets: str) -> list[str]:
    """Return the secrets (in any of their encodings) found in blob."""
    data = blob.encode() if isinstance(blob, str) else blob
    return [s for s in secrets for form in encodings(s) if form in data]

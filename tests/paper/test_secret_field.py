"""A key's secret is decrypted once per process, and only ever from its own ciphertext."""

import pytest
from django.db import connection
from django_cryptography.core.signing import BadSignature
from django_cryptography.utils.crypto import FernetBytes

from paper import sql
from paper.models import PaperApiKey
from paper.services.accounts import account_get_or_create
from paper.services.keys import key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def decryptions(monkeypatch):
    calls = []
    decrypt = FernetBytes.decrypt

    def counted(self, data, ttl=None):
        calls.append(data)
        return decrypt(self, data, ttl)

    monkeypatch.setattr(FernetBytes, "decrypt", counted)
    return calls


def test_a_stored_secret_is_decrypted_once_per_process(alice, decryptions):
    key, secret = key_create(account=account_get_or_create(user=alice), label="bot")
    reads = [sql.key_with_open_orders(api_key=key.api_key).secret for _ in range(3)]
    reads.append(PaperApiKey.objects.get(pk=key.pk).secret)
    assert reads == [secret] * 4
    assert len(decryptions) <= 1  # none when key_create's own read already decrypted it


def test_a_new_secret_for_the_same_key_is_read_as_the_new_one(alice):
    key, old = key_create(account=account_get_or_create(user=alice), label="bot")
    assert sql.key_with_open_orders(api_key=key.api_key).secret == old
    key.secret = "n" * 64
    key.save(update_fields=["secret"])
    assert sql.key_with_open_orders(api_key=key.api_key).secret == "n" * 64


def test_a_tampered_ciphertext_still_fails_to_decrypt(alice, decryptions):
    key, secret = key_create(account=account_get_or_create(user=alice), label="bot")
    assert sql.key_with_open_orders(api_key=key.api_key).secret == secret
    table = connection.ops.quote_name(PaperApiKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {table} WHERE id = %s", [key.pk])  # noqa: S608
        stored = bytes(cursor.fetchone()[0])
        tampered = stored[:-1] + bytes([stored[-1] ^ 1])
        cursor.execute(f"UPDATE {table} SET secret = %s WHERE id = %s", [tampered, key.pk])  # noqa: S608
    for _ in range(2):  # never remembered: each read tries, and fails, again
        with pytest.raises(BadSignature):
            sql.key_with_open_orders(api_key=key.api_key)
    assert decryptions[-2:] == [tampered, tampered]

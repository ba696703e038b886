"""key_rotate: the one write path that swaps a key's credentials (after the exchange agreed)."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import KEY_EXPIRED_REASON, AuditEvent, ExchangeKey
from accounts.services.keys import key_credentials, key_rotate
from tests.vault_helpers import SECRET, connect, enable_mfa, encodings, grant_connect, raw_row

pytestmark = pytest.mark.django_db

NEW_KEY = "AKnew00000111112222233333"
NEW_SECRET = "nEw-SeCrEt-99887766554433"


@pytest.fixture
def owner(alice):
    return grant_connect(alice)


@pytest.fixture
def key(owner):
    return connect(owner)


def test_the_old_credentials_are_overwritten_not_kept(owner, key):
    key_rotate(key=key, api_key=NEW_KEY, secret=NEW_SECRET, actor=owner)
    creds = key_credentials(key_id=key.pk)
    assert (creds.api_key, creds.secret) == (NEW_KEY, NEW_SECRET)
    row = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in raw_row(key.pk))
    for leaked in encodings(SECRET) + encodings(NEW_SECRET):
        assert leaked not in row
    assert ExchangeKey.objects.count() == 1
    event = AuditEvent.objects.get(event_type="key.rotated")
    assert event.detail["old_fingerprint"] != event.detail["fingerprint"]


def test_the_same_key_again_is_refused(owner, key):
    with pytest.raises(ValidationError, match="already has"):
        key_rotate(
            key=key, api_key="AKvault1234567890abcdefghijkLMNOP", secret="x" * 20, actor=owner
        )


def test_a_key_connected_as_another_key_is_refused(owner, key):
    connect(owner, label="Other", api_key=NEW_KEY)
    with pytest.raises(ValidationError, match="already connected"):
        key_rotate(key=key, api_key=NEW_KEY, secret=NEW_SECRET, actor=owner)


def test_malformed_credentials_are_refused_before_anything_changes(owner, key):
    with pytest.raises(ValidationError):
        key_rotate(key=key, api_key="new key with spaces", secret=NEW_SECRET, actor=owner)
    assert key_credentials(key_id=key.pk).secret == SECRET


def test_an_expired_key_becomes_active_again(owner, key):
    ExchangeKey.objects.filter(pk=key.pk).update(
        status=ExchangeKey.Status.DISABLED, status_reason=KEY_EXPIRED_REASON
    )
    key.refresh_from_db()
    key_rotate(key=key, api_key=NEW_KEY, secret=NEW_SECRET, actor=owner)
    assert ExchangeKey.objects.get(pk=key.pk).status == ExchangeKey.Status.ACTIVE


def test_a_key_disabled_by_its_owner_stays_disabled(owner, key):
    ExchangeKey.objects.filter(pk=key.pk).update(
        status=ExchangeKey.Status.DISABLED, status_reason="Disabled by alice."
    )
    key.refresh_from_db()
    key_rotate(key=key, api_key=NEW_KEY, secret=NEW_SECRET, actor=owner)
    assert ExchangeKey.objects.get(pk=key.pk).status == ExchangeKey.Status.DISABLED


def test_rotating_a_trading_key_needs_two_factor(owner, key):
    ExchangeKey.objects.filter(pk=key.pk).update(scope_trade=True)
    key.refresh_from_db()
    with pytest.raises(ValidationError, match="two-factor"):
        key_rotate(key=key, api_key=NEW_KEY, secret=NEW_SECRET, actor=owner)
    enable_mfa(owner)
    key_rotate(key=key, api_key=NEW_KEY, secret=NEW_SECRET, actor=owner)

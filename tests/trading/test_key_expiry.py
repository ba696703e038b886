"""Expired keys: the paper exchange expires a key; keytrade disables it and says so clearly."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import KEY_EXPIRED_REASON, AuditEvent, ExchangeKey, Notification
from accounts.services.key_reminders import key_reminders_send
from tests.trading.conftest import paper_key_for
from trading.exchange import errors
from trading.services.key_rotation import key_rotate_verified
from trading.services.keys import key_verify
from trading.services.sync import account_sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def later(monkeypatch):
    """Move the clock forward for keytrade and the paper exchange alike (same process)."""

    def move(delta: timedelta):
        moved = timezone.now() + delta
        monkeypatch.setattr(timezone, "now", lambda: moved + (real_now() - start))

    real_now = timezone.now
    start = real_now()
    return move


@pytest.fixture
def expiring_key(trader, paper_url, paper_key, settings, eager_tasks):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    api_key, secret = paper_key(user=trader, expires_in=timedelta(days=3))
    key = paper_key_for(trader, api_key=api_key, secret=secret)
    key_verify(key_id=key.pk)  # the exchange reports tradingAuthorityExpirationTime
    return ExchangeKey.objects.get(pk=key.pk)


def test_verification_records_the_expiry_and_reminders_use_it(
    expiring_key, django_capture_on_commit_callbacks
):
    assert expiring_key.exchange_expires_at is not None
    assert expiring_key.replace_by == expiring_key.exchange_expires_at < expiring_key.rotate_by
    with django_capture_on_commit_callbacks(execute=True):
        assert key_reminders_send() == 1
    reminder = Notification.objects.get(kind="key_reminder")
    assert "within 3 days" in reminder.title and "expires on" in reminder.body


def test_a_key_the_exchange_rejects_after_its_expiry_is_disabled_as_expired(
    trader, expiring_key, later, django_capture_on_commit_callbacks
):
    later(timedelta(days=4))  # the paper exchange now answers -2015 for this key
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(errors.KeyRejected):
        account_sync(key_id=expiring_key.pk)
    key = ExchangeKey.objects.get(pk=expiring_key.pk)
    assert key.status == ExchangeKey.Status.DISABLED and key.is_expired
    assert key.status_reason == KEY_EXPIRED_REASON
    notification = Notification.objects.get(kind="key_expired")
    assert notification.title == "Key “Paper” expired"
    assert "bots using it stop" in notification.body
    assert [m.subject for m in mail.outbox] == ["[keytrade] Key “Paper” expired"]
    assert AuditEvent.objects.filter(event_type="key.expired", target_id=str(key.pk)).count() == 1
    assert not Notification.objects.filter(kind="key_rejected").exists()
    # Disabled: nothing more is sent with it (sync refuses inactive keys before any request).
    account_sync(key_id=key.pk)
    assert Notification.objects.filter(kind="key_expired").count() == 1


def test_a_rejection_before_the_expiry_is_an_ordinary_rejection(trader, expiring_key):
    from paper.models import PaperApiKey

    PaperApiKey.objects.update(is_enabled=False)
    with pytest.raises(errors.KeyRejected):
        account_sync(key_id=expiring_key.pk)
    key = ExchangeKey.objects.get(pk=expiring_key.pk)
    assert key.status == ExchangeKey.Status.DISABLED and not key.is_expired
    assert Notification.objects.get().kind == "key_rejected"


def test_verification_reporting_a_past_expiry_disables_the_key(expiring_key, monkeypatch):
    from trading.exchange.client import ExchangeClient

    original = ExchangeClient.key_permissions

    def already_expired(self):
        perms = original(self)
        return type(perms)(**{**perms.__dict__, "expires_at": timezone.now() - timedelta(hours=1)})

    monkeypatch.setattr(ExchangeClient, "key_permissions", already_expired)
    key_verify(key_id=expiring_key.pk)
    key = ExchangeKey.objects.get(pk=expiring_key.pk)
    assert key.is_expired and Notification.objects.filter(kind="key_expired").count() == 1


def test_rotating_an_expired_key_brings_it_back(trader, expiring_key, paper_key, later):
    later(timedelta(days=4))
    with pytest.raises(errors.KeyRejected):
        account_sync(key_id=expiring_key.pk)
    api_key, secret = paper_key(user=trader)
    key = ExchangeKey.objects.defer("api_key", "secret").get(pk=expiring_key.pk)
    key_rotate_verified(key=key, api_key=api_key, secret=secret, actor=trader)
    key = ExchangeKey.objects.get(pk=key.pk)
    assert key.status == ExchangeKey.Status.ACTIVE and key.status_reason == ""
    assert key.exchange_expires_at is None  # the new key has no expiry
    account_sync(key_id=key.pk)

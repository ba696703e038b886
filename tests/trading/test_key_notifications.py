"""What the exchange says about a key reaches its owner: in-app and by email."""

import pytest
from django.core import mail

from accounts.models import Notification
from tests.trading.conftest import paper_key_for
from trading.exchange import errors
from trading.services.keys import key_verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connect_paper(trader, paper_url, paper_key, settings, eager_tasks):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1

    def make(**paper_options):
        api_key, secret = paper_key(user=trader, **paper_options)
        return paper_key_for(trader, api_key=api_key, secret=secret)

    return make


def test_a_key_that_gained_withdraw_permission_is_disabled_and_reported(
    connect_paper, django_capture_on_commit_callbacks
):
    key = connect_paper(withdraw=True)
    with django_capture_on_commit_callbacks(execute=True):
        key_verify(key_id=key.pk)
    notification = Notification.objects.get()
    assert notification.kind == Notification.Kind.KEY_WITHDRAW_ENABLED
    assert notification.title == "Key “Paper” disabled"
    assert "withdraw or transfer" in notification.body
    assert [m.subject for m in mail.outbox] == ["[keytrade] Key “Paper” disabled"]


def test_a_rejected_key_is_disabled_and_reported_once(
    connect_paper, django_capture_on_commit_callbacks
):
    key = connect_paper(ip=["203.0.113.9"])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            with pytest.raises(errors.KeyRejected):
                key_verify(key_id=key.pk)
    notification = Notification.objects.get()
    assert notification.kind == Notification.Kind.KEY_REJECTED
    assert "IP whitelist" in notification.body
    assert len(mail.outbox) == 1


def test_a_good_key_produces_no_notification(connect_paper):
    key_verify(key_id=connect_paper().pk)
    assert not Notification.objects.exists()

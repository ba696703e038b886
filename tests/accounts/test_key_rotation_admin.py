"""Admins see overdue keys and a per-user key-age summary; owners snooze from the key page."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.models import ExchangeKey
from tests.conftest import PASSWORD
from tests.vault_helpers import connect, enable_mfa, grant_connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(alice, bob):
    now = timezone.now()
    overdue = connect(
        grant_connect(alice), label="Overdue one", api_key="AKoverdue0123456789abcdef"
    )
    fresh = connect(grant_connect(alice), label="Fresh one", api_key="AKfresh00123456789abcdefg")
    expiring = connect(
        grant_connect(bob), label="Expiring one", api_key="AKexpire0123456789abcdefg"
    )
    ExchangeKey.objects.filter(pk=overdue.pk).update(
        rotate_by=now - timedelta(days=10), created_at=now - timedelta(days=100)
    )
    # Rotate-by is far away, but the exchange says the key expired yesterday.
    ExchangeKey.objects.filter(pk=expiring.pk).update(exchange_expires_at=now - timedelta(days=1))
    return overdue, fresh, expiring


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    enable_mfa(admin)
    client.force_login(admin)
    return client


def test_the_rotation_overdue_filter_lists_only_overdue_keys(admin_client, keys):
    url = reverse("admin:accounts_exchangekey_changelist")
    page = admin_client.get(url, {"rotation": "overdue"}).content.decode()
    assert "Overdue one" in page and "Expiring one" in page and "Fresh one" not in page
    assert "⚠ overdue 10 d" in page and "⚠ overdue 1 d" in page
    everything = admin_client.get(url).content.decode()
    assert "Fresh one" in everything and "Rotation overdue" in everything


def test_the_age_summary_shows_each_users_oldest_key_and_overdue_count(admin_client, keys):
    page = admin_client.get(reverse("admin:accounts_exchangekey_age_summary"))
    rows = {row["user__username"]: row for row in page.context["users"]}
    assert rows["alice"]["keys"] == 2 and rows["alice"]["overdue"] == 1
    assert rows["alice"]["oldest_days"] == 100
    assert rows["bob"]["overdue"] == 1
    assert "⚠ 1" in page.content.decode()


def test_the_age_summary_is_for_staff_only(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:accounts_exchangekey_age_summary"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_key_page_offers_rotation_and_a_single_snooze(client, alice, keys):
    overdue = keys[0]
    client.force_login(grant_connect(alice))
    url = reverse("trading:key_detail", args=[overdue.pk])
    page = client.get(url).content.decode()
    assert "Rotation overdue by 10 days" in page and "Remind me in 7 days" in page
    assert reverse("trading:key_rotate", args=[overdue.pk]) in page
    response = client.post(reverse("trading:key_snooze", args=[overdue.pk]), follow=True)
    page = response.content.decode()
    assert "paused until" in page and "Remind me in 7 days" not in page
    again = client.post(reverse("trading:key_snooze", args=[overdue.pk]), follow=True)
    assert "already snoozed" in again.content.decode()


def test_a_key_that_is_not_due_shows_no_rotation_box(client, alice, keys):
    client.force_login(alice)
    page = client.get(reverse("trading:key_detail", args=[keys[1].pk])).content.decode()
    assert "Remind me in 7 days" not in page

"""The home page tells a user their role and whether two-factor protects them."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.accounts.conftest import enrol_totp

pytestmark = pytest.mark.django_db


def test_home_shows_role_and_asks_for_two_factor(client, alice):
    alice.groups.add(Group.objects.get(name="viewer"))
    client.force_login(alice)
    response = client.get(reverse("accounts:home"))  # "/" is the trading overview
    assert "Role: viewer" in response.text
    assert "2FA off" in response.text
    assert f'href="{reverse("mfa_index")}"' in response.text


def test_home_confirms_two_factor_once_enrolled(client, alice):
    enrol_totp(alice)
    client.force_login(alice)
    assert "2FA on" in client.get(reverse("accounts:home")).text


def test_home_is_for_signed_in_users(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))

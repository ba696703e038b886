"""The admin opens only to staff with two-factor, and only through keytrade's login."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.accounts.conftest import (
    TOTP_SECRET,
    enrol_totp,
    full_login,
    password_login,
    totp_code,
)

pytestmark = pytest.mark.django_db


def test_staff_without_two_factor_are_sent_to_enrol(client, staff):
    password_login(client, "sam")
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    notes = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("must set up two-factor" in note for note in notes)


@pytest.mark.parametrize(
    "url_name", ["admin:accounts_user_changelist", "admin:accounts_auditevent_changelist"]
)
def test_every_admin_page_is_closed_to_staff_without_two_factor(client, superuser, url_name):
    client.force_login(superuser)
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")


def test_staff_with_two_factor_reach_the_admin(staff, frozen_totp_clock):
    enrol_totp(staff)
    client = Client()
    full_login(client, "sam", totp_code(TOTP_SECRET, frozen_totp_clock))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "keytrade admin" in response.text


def test_anonymous_visitors_go_to_keytrade_login(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert "next=%2Fadmin%2F" in response.redirect_chain[-1][0]
    assert "<h1>Log in</h1>" in response.text


def test_admin_login_form_is_not_a_way_around_throttling_and_two_factor(client, staff):
    response = client.post(reverse("admin:login"), {"username": "sam", "password": "x"})
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_non_staff_users_are_refused(client, alice):
    enrol_totp(alice)
    client.force_login(alice)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 403


def test_admin_logout_is_audited(client, staff):
    enrol_totp(staff)
    client.force_login(staff)
    response = client.post(reverse("admin:logout"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(event_type="logout", actor_id=staff.pk).exists()
    assert client.get("/").status_code == 302


def test_admin_password_change_link_uses_keytrade_password_change(client, staff):
    enrol_totp(staff)
    client.force_login(staff)
    response = client.get(reverse("admin:password_change"))
    assert response.status_code == 302 and response.url == reverse("account_change_password")

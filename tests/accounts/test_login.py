"""Logging in and out: audited, throttled, and revealing nothing about which usernames exist."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from tests.accounts.conftest import password_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (keytrade test)", "REMOTE_ADDR": "203.0.113.7"}


def _session_cookie(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_login_page_renders_in_keytrade_layout(client):
    response = client.get(reverse("account_login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Log in</h1>" in body
    assert "pico.min.css" in body
    assert "style=" not in body and "<script>" not in body
    assert "Accounts are created by an administrator." in body
    assert "Sign up" not in body


def test_successful_login_is_audited_with_ip_and_user_agent(client, alice):
    response = password_login(client, "alice", **BROWSER)
    assert response.status_code == 302 and response.url == "/"
    event = AuditEvent.objects.get(event_type="login.success")
    assert event.actor_id == alice.pk and event.actor_username == "alice"
    assert event.ip_address == "203.0.113.7"
    assert event.user_agent == "Mozilla/5.0 (keytrade test)"
    assert event.outcome == "success"


def test_failed_login_is_audited_without_actor_and_with_attempted_username(client, alice):
    response = password_login(client, "alice", "wrong password", **BROWSER)
    assert response.status_code == 200
    event = AuditEvent.objects.get(event_type="login.failure")
    assert event.actor_id is None and event.actor_username == ""
    assert event.detail == {"username": "alice"}
    assert event.outcome == "failure"
    assert event.ip_address == "203.0.113.7"
    assert "wrong password" not in str(event.detail)


def _normalised(response, username: str) -> str:
    body = response.content.decode().replace(f'value="{username}"', 'value="USERNAME"')
    return re.sub(r"[A-Za-z0-9]{64}", "CSRF", body)  # masked CSRF tokens differ per render


def test_unknown_user_and_wrong_password_get_the_same_answer(client, alice):
    wrong_password = password_login(client, "alice", "not the password")
    unknown_user = password_login(client, "nobody-here", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert _normalised(wrong_password, "alice") == _normalised(unknown_user, "nobody-here")
    assert "username and/or password you specified are not correct" in wrong_password.text


def test_sixth_attempt_is_refused_even_with_the_right_password(client, alice, bob):
    for _ in range(5):
        assert password_login(client, "alice", "guess").status_code == 200
    response = password_login(client, "alice", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.text
    assert "_auth_user_id" not in client.session
    refused = AuditEvent.objects.filter(event_type="login.failure", outcome="denied").get()
    assert refused.detail == {"username": "alice", "reason": "throttled"}
    # The lock is per username: bob, from the same address, still gets in.
    assert password_login(Client(), "bob").status_code == 302


def test_fifth_attempt_with_the_right_password_still_succeeds(client, alice):
    for _ in range(4):
        password_login(client, "alice", "guess")
    assert password_login(client, "alice").status_code == 302


def test_login_rotates_the_session_id(client, alice):
    session = client.session
    session["before_login"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    password_login(client, "alice")
    assert _session_cookie(client) != session.session_key
    assert not Session.objects.filter(session_key=session.session_key).exists()
    assert client.get("/").status_code == 200


def test_logout_is_audited_and_the_old_cookie_is_dead(client, alice):
    password_login(client, "alice")
    old_cookie = _session_cookie(client)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(event_type="logout", actor_id=alice.pk).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    response = replay.get("/")
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_logout_by_get_only_asks_for_confirmation(client, alice):
    password_login(client, "alice")
    response = client.get(reverse("account_logout"))
    assert response.status_code == 200 and "Do you want to log out" in response.text
    assert client.get("/").status_code == 200


def test_password_change_keeps_this_session_and_ends_the_others(client, alice):
    password_login(client, "alice")
    other_device = Client()
    password_login(other_device, "alice")
    assert other_device.get("/").status_code == 200

    new_password = "a brand new passphrase 7"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other_device.get("/").status_code == 302
    event = AuditEvent.objects.get(event_type="password.changed")
    assert event.actor_id == alice.pk and event.detail == {"flow": "change"}
    assert new_password not in str(event.detail)
    assert password_login(Client(), "alice", new_password).status_code == 302


def test_password_change_page_looks_like_keytrade(client, alice):
    password_login(client, "alice")
    response = client.get(reverse("account_change_password"))
    assert response.status_code == 200
    assert "<h1>Change password</h1>" in response.text and "style=" not in response.text


def test_registration_is_closed_by_default(client):
    response = client.get(reverse("account_signup"))
    assert "Sign-up is closed" in response.text
    client.post(
        reverse("account_signup"),
        {"username": "mallory", "password1": "x" * 20 + "9Q", "password2": "x" * 20 + "9Q"},
    )
    assert not User.objects.filter(username="mallory").exists()


def test_registration_opens_when_allowed(client, settings):
    settings.ACCOUNT_ALLOW_REGISTRATION = True
    assert "Sign up" in client.get(reverse("account_login")).text
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200 and "Sign-up is closed" not in response.text
    password = "a fresh passphrase 12"
    response = client.post(
        reverse("account_signup"),
        {"username": "dora", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    dora = User.objects.get(username="dora")
    assert [group.name for group in dora.groups.all()] == ["viewer"]
    assert not dora.has_perm("accounts.place_orders")
    assert AuditEvent.objects.filter(event_type="user.created", actor_id=dora.pk).exists()


def test_a_flood_of_logins_from_one_address_gets_429(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    for _ in range(2):
        assert password_login(client, "anyone", "guess").status_code == 200
    response = password_login(client, "anyone", "guess")
    assert response.status_code == 429
    assert "Too many requests" in response.text and "pico.min.css" in response.text

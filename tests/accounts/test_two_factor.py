"""Two-factor authentication with an authenticator app (TOTP) and recovery codes."""

import base64

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.selectors import user_has_mfa
from tests.accounts.conftest import (
    TOTP_SECRET,
    enrol_totp,
    full_login,
    password_login,
    reauthenticate,
    totp_code,
)

pytestmark = pytest.mark.django_db


def _open_enrolment(client):
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302, "allauth asks for the password again first"
    assert response.url.startswith(reverse("account_reauthenticate"))
    reauthenticate(client)
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    return response, response.context["form"].secret


def test_enrolment_page_shows_a_qr_code_the_csp_allows(client, alice):
    password_login(client, "alice")
    response, secret = _open_enrolment(client)
    match = response.text.split('<img src="data:image/svg+xml;base64,', 1)
    assert len(match) == 2, "the QR code is an inline data: image"
    svg = base64.b64decode(match[1].split('"', 1)[0]).decode()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<svg" in svg
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data:" in csp and "'unsafe-inline'" not in csp
    assert secret in response.text  # for entering by hand
    assert "style=" not in response.text.split("<main", 1)[1]


def test_enrolment_with_a_code_turns_two_factor_on(
    client, alice, frozen_totp_clock, django_capture_on_commit_callbacks
):
    password_login(client, "alice")
    _, secret = _open_enrolment(client)
    assert not user_has_mfa(user=alice)
    # allauth announces the new authenticator once the enrolment transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("mfa_activate_totp"), {"code": totp_code(secret, frozen_totp_clock)}
        )
    assert response.status_code == 302
    assert response.url == reverse("mfa_view_recovery_codes")
    assert user_has_mfa(user=alice)
    codes_page = client.get(response.url)
    assert codes_page.status_code == 200
    codes = codes_page.context["unused_codes"]
    assert len(codes) == 10 and all(code in codes_page.text for code in codes)
    enrolled = AuditEvent.objects.get(event_type="mfa.enrolled")
    assert enrolled.actor_id == alice.pk and enrolled.detail == {"type": "totp"}
    assert secret not in str(enrolled.detail)
    assert AuditEvent.objects.filter(event_type="mfa.recovery_codes.generated").exists()


def test_enrolment_rejects_a_wrong_code(client, alice, frozen_totp_clock):
    password_login(client, "alice")
    _, secret = _open_enrolment(client)
    wrong = f"{(int(totp_code(secret, frozen_totp_clock)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa_activate_totp"), {"code": wrong})
    assert response.status_code == 200 and "Incorrect code" in response.text
    assert not user_has_mfa(user=alice)


def test_the_enrolment_code_cannot_be_used_again_to_log_in(client, alice, frozen_totp_clock):
    password_login(client, "alice")
    _, secret = _open_enrolment(client)
    code = totp_code(secret, frozen_totp_clock)
    client.post(reverse("mfa_activate_totp"), {"code": code})
    assert user_has_mfa(user=alice)
    response = full_login(Client(), "alice", code)
    assert response.status_code == 200 and "Incorrect code" in response.text


def test_login_asks_for_the_code_after_the_password(alice, frozen_totp_clock):
    enrol_totp(alice)
    client = Client()
    response = password_login(client, "alice")
    assert response.url == reverse("mfa_authenticate")
    assert client.get("/").status_code == 302, "not logged in before the second factor"
    assert not AuditEvent.objects.filter(event_type="login.success").exists()
    response = client.post(
        reverse("mfa_authenticate"), {"code": totp_code(TOTP_SECRET, frozen_totp_clock)}
    )
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200
    success = AuditEvent.objects.get(event_type="login.success")
    assert success.detail == {"two_factor": True}


def test_a_code_cannot_be_used_twice(alice, frozen_totp_clock):
    enrol_totp(alice)
    code = totp_code(TOTP_SECRET, frozen_totp_clock)
    assert full_login(Client(), "alice", code).status_code == 302
    replay = Client()
    response = full_login(replay, "alice", code)
    assert response.status_code == 200 and "Incorrect code" in response.text
    assert replay.get("/").status_code == 302
    failure = AuditEvent.objects.get(event_type="mfa.failure")
    assert failure.actor_id == alice.pk and failure.outcome == "failure"


def test_a_recovery_code_logs_in_once(alice):
    enrol_totp(alice)
    recovery = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    code = recovery.wrap().get_unused_codes()[0]
    assert full_login(Client(), "alice", code).status_code == 302
    response = full_login(Client(), "alice", code)
    assert response.status_code == 200 and "Incorrect code" in response.text


def test_deactivating_removes_the_factor_and_is_audited(alice, frozen_totp_clock):
    enrol_totp(alice)
    client = Client()
    full_login(client, "alice", totp_code(TOTP_SECRET, frozen_totp_clock))
    reauthenticate(client)
    page = client.get(reverse("mfa_deactivate_totp"))
    assert page.status_code == 200 and "Deactivate authenticator app" in page.text
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not user_has_mfa(user=alice)
    assert not Authenticator.objects.filter(user=alice).exists()
    removed = AuditEvent.objects.filter(event_type="mfa.removed").values_list(
        "detail__type", flat=True
    )
    assert sorted(removed) == ["recovery_codes", "totp"]


def test_security_page_shows_status_and_next_steps(client, alice):
    password_login(client, "alice")
    page = client.get(reverse("mfa_index"))
    assert page.status_code == 200
    assert "Not set up" in page.text and reverse("mfa_activate_totp") in page.text
    assert reverse("account_change_password") in page.text
    enrol_totp(alice)
    page = client.get(reverse("mfa_index"))
    assert "Active" in page.text and "10 of 10 codes unused" in page.text


def test_user_has_mfa_ignores_recovery_codes_alone(alice, bob):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(alice)
    assert not user_has_mfa(user=alice)
    enrol_totp(bob)
    assert user_has_mfa(user=bob)

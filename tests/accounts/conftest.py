"""Helpers for login and two-factor tests: a real login through the pages, TOTP codes."""

import base64
import hashlib
import hmac
import struct
import time
import types

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal import auth as allauth_totp
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from tests.conftest import PASSWORD, make_user

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str, at: float) -> str:
    """Compute an RFC 6238 code (SHA-1, 6 digits, 30 s), independently of allauth."""
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@pytest.fixture
def frozen_totp_clock(monkeypatch):
    """Pin allauth's TOTP clock to the middle of one 30 s window, so codes stay valid."""
    now = (int(time.time()) // 30) * 30 + 15.0
    monkeypatch.setattr(allauth_totp, "time", types.SimpleNamespace(time=lambda: now))
    return now


def enrol_totp(user, secret: str = TOTP_SECRET) -> Authenticator:
    """Give the user an authenticator app and recovery codes, as enrolment would."""
    RecoveryCodes.activate(user)
    return TOTP.activate(user, secret).instance


def password_login(client, username: str, password: str = PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": username, "password": password}, **extra)


def full_login(client, username: str, code: str | None = None):
    """Log in through the real pages: password, then the two-factor code when asked."""
    response = password_login(client, username)
    if code is not None:
        assert response.status_code == 302
        assert response.url == reverse("mfa_authenticate")
        response = client.post(reverse("mfa_authenticate"), {"code": code})
    return response


def reauthenticate(client, password: str = PASSWORD):
    """Confirm the password again, as allauth asks before any two-factor change."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content
    return response


@pytest.fixture
def staff(db):
    return make_user("sam", is_staff=True)


@pytest.fixture
def superuser(db):
    return make_user("root", is_staff=True, is_superuser=True)

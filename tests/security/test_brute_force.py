"""Password guessing is throttled per username (whatever the address) and per address."""

import pytest
from django.test import Client

from accounts.models import AuditEvent
from tests.accounts.conftest import password_login
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_rotating_addresses_does_not_reset_the_per_username_limit(alice):
    for i in range(5):
        response = password_login(Client(), "alice", "guess", REMOTE_ADDR=f"198.51.100.{i}")
        assert "Too many failed login attempts" not in response.text
    response = password_login(Client(), "alice", REMOTE_ADDR="198.51.100.99")  # right password
    assert response.status_code == 200 and "Too many failed login attempts" in response.text
    assert AuditEvent.objects.filter(event_type="login.failure", outcome="denied").exists()


def test_one_address_guessing_many_usernames_is_throttled(db):
    victim = make_user("victim")
    for i in range(20):
        password_login(Client(), f"user{i}", "guess", REMOTE_ADDR="203.0.113.50")
    response = password_login(Client(), victim.username, REMOTE_ADDR="203.0.113.50")
    assert response.status_code in (200, 429)
    assert "Too many failed login attempts" in response.text
    # The same user from another address still gets in: the limit is the address's.
    assert password_login(Client(), victim.username, REMOTE_ADDR="192.0.2.1").status_code == 302

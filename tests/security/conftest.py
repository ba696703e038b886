"""Security personas: alice owns everything, bob is an equally privileged other user."""

import pytest
from django.contrib.auth.models import Permission

from tests.trading.conftest import exchange_port, make_trader  # noqa: F401 - a fixture


def make_full_trader(user):
    """A trader who may also run bots: every role permission, and two-factor."""
    user = make_trader(user)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename="run_bots")
    )
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def owner(alice):
    return make_full_trader(alice)


@pytest.fixture
def intruder(bob):
    """bob: a trader with two-factor, so that a refusal can only come from ownership."""
    return make_full_trader(bob)

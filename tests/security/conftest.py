"""Security personas: alice owns everything, bob is an equally privileged other user."""

import pytest

from tests.trading.conftest import exchange_port, make_trader  # noqa: F401 - a fixture


@pytest.fixture
def owner(alice):
    return make_trader(alice)


@pytest.fixture
def intruder(bob):
    """bob: a trader with two-factor, so that a refusal can only come from ownership."""
    return make_trader(bob)

"""Security personas: alice owns everything, bob is an equally privileged other user."""

import pytest

from tests.trading.conftest import make_trader


@pytest.fixture
def owner(alice):
    return make_trader(alice)


@pytest.fixture
def intruder(bob):
    """bob: a trader with two-factor, so that a refusal can only come from ownership."""
    return make_trader(bob)

"""Helpers for the dashboard page tests: personas with roles, keys, and logged-in clients."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.trading.conftest import make_trader, paper_key_for


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_viewer(user):
    """A user whose role is viewer, with a read-only key connected while they could."""
    key = paper_key_for(
        make_trader(user), api_key=f"VIEW{user.username}key0123456789", scope_trade=False
    )
    user.user_permissions.clear()  # then became a viewer
    user.groups.set(Group.objects.filter(name="viewer"))
    return type(user).objects.get(pk=user.pk), key


@pytest.fixture
def alice_key(trader):
    return paper_key_for(trader)


@pytest.fixture
def outsider(charlie):
    """charlie: a trader with a key of his own, who must never see alice's rows."""
    user = make_trader(charlie)
    return user, paper_key_for(user, api_key="CHARLIEkey0123456789abcdef")

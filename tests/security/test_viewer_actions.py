"""A viewer reaches no trading action: every keytrade POST answers 403, or is a read-only page.

Routes come from the URLconf; a new trading URL must answer 403 to viewers unless it is
listed below as read-only or explicitly allowed, with the reason.
"""

import pytest
from django.contrib.auth.models import Group
from django.test import TestCase

from tests.security.db import changed_tables, snapshot
from tests.security.objects import build_url
from tests.security.test_object_access import PAYLOAD
from tests.security.urlconf import routes
from tests.trading.pages import login

pytestmark = pytest.mark.django_db

TRADING = [r for r in routes() if r.name.startswith("trading:")]

# Pages that only read: a POST there changes nothing (405, or the page again).
READ_ONLY = {
    "trading:key_list",
    "trading:key_detail",
    "trading:overview",
    "trading:overview_live",
    "trading:orders",
    "trading:orders_live",
    "trading:fills",
    "trading:fills_live",
    "trading:fills_csv",
    "trading:market_pick",
    "trading:market",
    "trading:market_candles",
    "trading:market_book",
}
# State changes a viewer may make on their own things, and why.
VIEWER_ALLOWED = {
    "trading:overview_refresh": "re-reads balances from the exchange; places nothing",
    "trading:key_disable": "a safety brake: anyone may stop their own key from being used",
    "trading:key_snooze": "silences a rotation reminder; the key is unchanged",
}


@pytest.fixture
def viewer_urls(bob):
    """bob's own objects, created while he was a trader; then he becomes a viewer."""
    from tests.security.conftest import make_full_trader

    trader = make_full_trader(bob)
    urls = {route.name: build_url(route, trader)[0] for route in TRADING}
    bob.user_permissions.clear()
    bob.groups.set(Group.objects.filter(name="viewer"))
    return type(bob).objects.get(pk=bob.pk), urls


def test_every_trading_post_is_forbidden_to_a_viewer(viewer_urls):
    viewer, urls = viewer_urls
    client = login(viewer)
    wrong = []
    for route in TRADING:
        if route.name in VIEWER_ALLOWED:
            continue
        before = snapshot()
        with TestCase.captureOnCommitCallbacks() as queued:
            status = client.post(urls[route.name], PAYLOAD).status_code
        # A read-only page may queue a market-data refresh; an action must queue nothing.
        read_only = route.name in READ_ONLY
        expected = {200, 405} if read_only else {403}
        if (
            status not in expected
            or (queued and not read_only)
            or changed_tables(before, snapshot())
        ):
            wrong.append((route.name, status, len(queued), changed_tables(before, snapshot())))
    assert wrong == [], wrong


def test_the_lists_name_only_existing_routes():
    names = {r.name for r in TRADING}
    assert READ_ONLY <= names and set(VIEWER_ALLOWED) <= names
    assert {"trading:order_confirm", "trading:key_connect", "trading:key_delete"} <= names

"""A viewer reaches no trading action: every keytrade POST answers 403, or is a read-only page.

Routes come from the URLconf; a new trading URL must answer 403 to viewers unless it is
listed below as read-only or explicitly allowed, with the reason.
"""

import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.test import TestCase
from django.urls import Resolver404, resolve

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
    "trading:overview_balances",
    "trading:orders",
    "trading:orders_live",
    "trading:fills",
    "trading:fills_live",
    "trading:fills_csv",
    "trading:market_pick",
    "trading:market",
    "trading:market_candles",
    "trading:market_book",
    "trading:bot_list",
    "trading:bot_detail",
    "trading:bot_vs_backtest",
    "trading:backtest_list",
    "trading:backtest_detail",
    "trading:backtest_status",
    "trading:backtest_chart",
    "trading:backtest_compare",
    "trading:backtest_compare_chart",
    "trading:sweep_detail",
    "trading:sweep_status",
    "trading:candle_download_detail",
    "trading:candle_download_status",
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


_TAG = re.compile(r"<(form|a|button|div|tbody|tr|span)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def _targets(page: str, here: str) -> tuple[set[str], set[str]]:
    """(URLs the page would POST to, URLs it links to), from forms, links and htmx attributes."""
    posts, links = set(), set()
    for tag, attributes in _TAG.findall(page):
        attrs = dict(_ATTR.findall(attributes))
        if tag.lower() == "form" and attrs.get("method", "get").lower() == "post":
            posts.add(unescape(attrs.get("action") or here))
        if "hx-post" in attrs:
            posts.add(unescape(attrs["hx-post"]))
        for name in ("href", "hx-get"):
            if attrs.get(name, "").startswith("/"):
                links.add(unescape(attrs[name]))
    return posts, links


def _route_name(url: str) -> str:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return ""
    return f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name or ""


def test_a_viewer_is_shown_no_button_or_link_their_role_refuses(viewer_urls):
    """Trade and run buttons are hidden from a viewer: every one would answer 403."""
    viewer, urls = viewer_urls
    client = login(viewer)
    refused_posts, refused_links, pages = [], [], 0
    for route in TRADING:
        response = client.get(urls[route.name])
        if response.status_code != 200 or "html" not in response["Content-Type"]:
            continue
        pages += 1
        posts, links = _targets(response.content.decode(), urls[route.name])
        for url in posts:
            name = _route_name(url)
            if name.startswith("trading:") and name not in READ_ONLY | set(VIEWER_ALLOWED):
                refused_posts.append((route.name, url))
        for url in links:
            if _route_name(url).startswith("trading:") and client.get(url).status_code == 403:
                refused_links.append((route.name, url))
    assert pages > 20, "the viewer saw too few pages"
    assert refused_posts == [] and refused_links == []

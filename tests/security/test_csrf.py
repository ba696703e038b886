"""Every POST needs a CSRF token, except the paper exchange's Binance API (signed by API key)."""

import pytest
from django.test import Client

from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db

ALL = routes()
# The paper exchange speaks Binance's REST dialect to ccxt: requests are HMAC-signed with an
# API key and carry no cookies, so a CSRF token has nothing to protect there.
EXEMPT_PREFIXES = ("paper/api/", "paper/sapi/")


def _exempt(route) -> bool:
    return bool(getattr(route.callback, "csrf_exempt", False))


def test_exactly_the_paper_exchange_api_is_csrf_exempt():
    exempt = {r.route for r in ALL if _exempt(r)}
    assert exempt == {r.route for r in ALL if r.route.startswith(EXEMPT_PREFIXES)}
    assert "paper/api/v3/order" in exempt


@pytest.fixture
def csrf_client(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


# re_path() routes cannot be filled mechanically: one sample URL each, by route name.
REGEX_SAMPLES = {
    "admin:app_list": "/admin/accounts/",
    "": "/admin/no-such-page/",  # the admin's unnamed catch-all
    "account_confirm_email": "/accounts/confirm-email/abc:def/",
    "account_reset_password_from_key": "/accounts/password/reset/key/1-abc/",
}


def _sample_url(route) -> str:
    if not route.is_regex:
        return route.url()
    assert route.name in REGEX_SAMPLES, f"add a sample URL for {route.route} to REGEX_SAMPLES"
    return REGEX_SAMPLES[route.name]


def test_a_post_without_a_token_is_refused_everywhere_else(csrf_client):
    # One test walking every route: ~200 admin routes would cost a database setup each.
    checked, accepted = 0, []
    for route in ALL:
        if _exempt(route):
            continue
        response = csrf_client.post(_sample_url(route), {"label": "x"})
        checked += 1
        if response.status_code != 403 or b"CSRF verification failed" not in response.content:
            accepted.append((route.route, response.status_code))
    assert accepted == []
    assert checked > 150  # the admin, allauth and every keytrade page


def test_a_post_with_the_token_gets_through(csrf_client):
    page = csrf_client.get("/paper/keys/")
    token = page.context["csrf_token"]
    response = csrf_client.post("/paper/keys/", {"label": "x", "csrfmiddlewaretoken": token})
    assert response.status_code == 200  # the page, with the new key's secret shown once


def test_the_paper_api_answers_without_a_token(csrf_client, settings):
    response = csrf_client.post("/paper/api/v3/order", {"symbol": "BTCUSDT"})
    assert response.status_code != 403 or "CSRF" not in response.content.decode()
    assert response["Content-Type"].startswith("application/json")

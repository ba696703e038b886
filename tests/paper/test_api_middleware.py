"""The Binance endpoints' lean path answers exactly what the full middleware chain answers."""

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import get_resolver

from paper import urls as paper_urls
from paper.middleware import BinanceApiMiddleware, binance_routes

pytestmark = pytest.mark.django_db

LEAN = "paper.middleware.BinanceApiMiddleware"

REQUESTS = [
    ("get", "/paper/api/v3/ping", {}),
    ("get", "/paper/api/v3/depth", {"data": {"symbol": "NOPE"}}),  # -1121 Invalid symbol
    ("get", "/paper/api/v3/account", {}),  # signed, no key: -2014
    ("get", "/paper/api/v3/account", {"headers": {"X-MBX-APIKEY": "k" * 64}}),  # -2015
    ("put", "/paper/api/v3/order", {}),  # -1020, HTTP 405
    ("post", "/paper/api/v3/order", {"data": "symbol=BTCUSDT", "content_type": "text/plain"}),
    ("get", "/paper/api/v3/nope", {}),  # not an endpoint: Django's 404
    ("get", "/paper/api/v3/ping/", {}),
    ("get", "/paper/keys/", {}),  # a page: login required
]


def _answers(settings, lean: bool):
    if not lean:
        settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != LEAN]
    client = Client()  # builds its middleware chain from the settings now in force
    caches["paper"].clear()  # the same used weight in X-MBX-USED-WEIGHT-1M
    answers = []
    for method, path, kwargs in REQUESTS:
        response = getattr(client, method)(path, **kwargs)
        answers.append((path, response.status_code, dict(response.headers), response.content))
    return answers


def test_the_lean_path_is_in_the_middleware_right_after_common(settings):
    names = settings.MIDDLEWARE
    assert names.index(LEAN) == names.index("django.middleware.common.CommonMiddleware") + 1


def test_answers_are_identical_with_and_without_the_lean_path(settings):
    lean = _answers(settings, lean=True)
    full = _answers(settings, lean=False)
    assert lean == full
    ping_headers = lean[0][2]
    assert ping_headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in ping_headers
    assert ping_headers["X-Content-Type-Options"] == "nosniff"


def test_every_binance_endpoint_takes_the_lean_path_and_nothing_else():
    routes = binance_routes(get_resolver())
    expected = {
        "/paper/" + str(p.pattern)
        for p in paper_urls.urlpatterns
        if getattr(p.callback, "binance_api", False)
    }
    assert set(routes) == expected
    assert "/paper/api/v3/order" in routes and "/paper/sapi/v1/account/apiRestrictions" in routes
    assert not any(path.startswith("/paper/keys") for path in routes)


def test_pages_keep_sessions_auth_and_csrf(client, alice):
    """Under /paper/, only the Binance endpoints skip the page middleware."""
    client.force_login(alice)
    page = client.get("/paper/keys/")
    assert page.status_code == 200 and "csrftoken" in page.cookies
    assert Client(enforce_csrf_checks=True).post("/paper/reset/").status_code == 403


def test_the_host_is_still_checked(settings):
    settings.ALLOWED_HOSTS = ["keytrade.example"]
    response = Client(HTTP_HOST="evil.example").get("/paper/api/v3/ping")
    assert response.status_code == 400


def test_a_request_with_its_own_urlconf_takes_the_full_chain(rf):
    calls = []
    middleware = BinanceApiMiddleware(lambda request: calls.append(request) or "full chain")
    request = rf.get("/paper/api/v3/ping")
    request.urlconf = "keytrade.urls"
    assert middleware(request) == "full chain" and calls == [request]

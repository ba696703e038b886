"""Reusable paper-exchange fixtures: a live server, keys, and ccxt clients pointed at it.

Imported by tests/conftest.py so every test directory can use them:
- `paper_url`: base URL of a live paper exchange (threaded WSGI server on a free port) with
  clean test controls; the test runs with a transactional database so the server sees its rows.
- `paper_key(user=None, trade=True, ...)`: creates a key, returns (api_key, secret).
- `paper_binance(api_key, secret, asyncio=False)`: a ccxt binance configured as the wire doc §1.1.
"""

import socket
import threading
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.utils import timezone


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def handle_one_request(self):
        super().handle_one_request()
        # A keep-alive connection must not pin a database session between requests:
        # the test's flush (TRUNCATE) and the test database's teardown wait for it.
        connections.close_all()


class PaperTestServer(ThreadedWSGIServer):
    """Django's threaded dev server with the fixes the wire doc §8 calls for."""

    request_queue_size = 128  # aiohttp opens many connections at once

    def get_request(self):
        sock, address = super().get_request()
        # Headers and body leave in two writes: without this, Nagle + delayed ACK add 40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


def start_paper_server(host: str = "127.0.0.1") -> tuple[PaperTestServer, str]:
    """Start a threaded server for the Django app on a free port; return it and its paper URL."""
    server = PaperTestServer((host, 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True, name="paper-server").start()
    return server, f"http://{host}:{server.server_address[1]}/paper"


@pytest.fixture(scope="session")
def paper_server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server, url = start_paper_server()
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def paper_url(paper_server, transactional_db):
    """The live paper exchange's base URL (test controls reset before the test)."""
    from paper.services.controls import controls_reset

    controls_reset()
    caches["paper"].clear()  # rate-limit counters
    return paper_server


@pytest.fixture
def paper_key(transactional_db):
    """Factory: paper_key(user=None, trade=True, withdraw=False, ip=(), expires_in=None)."""
    from paper.services.accounts import account_get_or_create
    from paper.services.keys import key_create
    from tests.conftest import make_user

    users = {}

    def create(
        user=None, *, trade=True, withdraw=False, ip=(), expires_in: timedelta | None = None
    ):
        if user is None:
            user = users.get("trader") or users.setdefault("trader", make_user("paper-trader"))
        key, secret = key_create(
            account=account_get_or_create(user=user),
            label="test",
            can_trade=trade,
            can_withdraw=withdraw,
            ip_whitelist=list(ip),
            expires_at=timezone.now() + expires_in if expires_in is not None else None,
        )
        return key.api_key, secret

    return create


def binance_for(base_url: str, api_key=None, secret=None, *, asyncio=False, **config):
    """A ccxt binance (sync or async) talking to the paper exchange, per wire doc §1.1."""
    import ccxt
    import ccxt.async_support

    cls = ccxt.async_support.binance if asyncio else ccxt.binance
    exchange = cls(
        {
            "apiKey": api_key,
            "secret": secret,
            "enableRateLimit": False,
            "timeout": 10_000,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
            **config,
        }
    )
    exchange.urls["api"] = {
        "public": base_url + "/api/v3",
        "private": base_url + "/api/v3",
        "v1": base_url + "/api/v1",
        "sapi": base_url + "/sapi/v1",
        "sapiV2": base_url + "/sapi/v2",
        "sapiV3": base_url + "/sapi/v3",
        "sapiV4": base_url + "/sapi/v4",
    }
    return exchange


@pytest.fixture
def paper_binance(paper_url):
    """Factory: paper_binance(api_key=None, secret=None, asyncio=False) -> ccxt binance."""
    made = []

    def create(api_key=None, secret=None, *, asyncio=False, **config):
        exchange = binance_for(paper_url, api_key, secret, asyncio=asyncio, **config)
        if not asyncio:
            made.append(exchange)
        return exchange

    yield create
    for exchange in made:
        exchange.session.close()

"""Trading fixtures: a trader, their keys, and a port that counts would-be exchange requests."""

import socket
import threading

import pytest
from django.contrib.auth.models import Permission

from accounts.models import AuditChainHead
from tests.vault_helpers import connect, enable_mfa
from trading.exchange.connect import forget_clients


@pytest.fixture(autouse=True)
def _fresh_clients():
    # ccxt instances are cached per thread; a test must not inherit another test's client.
    forget_clients()
    yield
    forget_clients()


def make_trader(user):
    # Transactional tests flush the audit chain's head row (created by a migration).
    AuditChainHead.objects.get_or_create(id=1)
    # Permissions, not the "trader" group: groups come from a data migration, and
    # transactional tests flush them (permissions are recreated after each flush).
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["connect_keys", "place_orders"]
        )
    )
    enable_mfa(user)
    return type(user).objects.get(pk=user.pk)  # a fresh instance: Django caches permissions


@pytest.fixture
def trader(alice):
    return make_trader(alice)


def paper_key_for(
    user,
    *,
    api_key="PAPERkey0123456789abcdef",
    secret="PAPERsecret0123456789abc",  # noqa: S107 - a test credential
    scope_trade=True,
    **extra,
):
    return connect(
        user,
        exchange="paper",
        label="Paper",
        api_key=api_key,
        secret=secret,
        scope_read=True,
        scope_trade=scope_trade,
        ip_whitelist=[],
        **extra,
    )


@pytest.fixture
def exchange_port(settings):
    """Point the paper exchange at a local port that only counts connections (no exchange)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    seen = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            seen.append(1)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    settings.PAPER_EXCHANGE_URL = f"http://127.0.0.1:{sock.getsockname()[1]}/paper"
    settings.EXCHANGE_TIMEOUT_MS = 500
    yield seen
    stop.set()
    thread.join()
    sock.close()


# Personas and keys for the dashboard page tests (tests/trading/test_pages_*.py).
from tests.trading.pages import alice_key, outsider  # noqa: E402,F401

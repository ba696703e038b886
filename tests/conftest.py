"""Shared fixtures: personas (alice the owner, bob another user, charlie the outsider)."""

import decimal
import os

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(env_name: str, what: str) -> str:
    """Return the service URL from the environment; skip locally, fail in CI, when unset."""
    url = os.environ.get(env_name, "")
    if not url:
        message = f"{what} tests need {env_name}"
        if IN_CI:
            pytest.fail(f"{message}, and CI=true forbids skipping them")
        pytest.skip(message)
    return url


@pytest.fixture
def redis_url():
    return require_service("REDIS_URL", "Redis")


@pytest.fixture
def postgres_url():
    url = require_service("DATABASE_URL", "PostgreSQL")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        pytest.fail(f"DATABASE_URL is set but is not PostgreSQL: {url.split(':')[0]}")
    return url


@pytest.fixture(autouse=True)
def _default_decimal_context():
    # ccxt rewrites the thread's decimal context when it rounds; tests that drive ccxt
    # directly must not change how later tests compute money.
    with decimal.localcontext(decimal.DefaultContext):
        yield


@pytest.fixture(autouse=True)
def _secret_registry_restored():
    # The log redactor's registry is process-wide: a secret a test registers (the form fuzz
    # test connects keys with secrets such as "BTC/USDT") would be masked in every later
    # test's output. Each test starts from the registry as it was before it.
    from keytrade import logging as keytrade_logging

    saved = set(keytrade_logging._secrets)
    yield
    with keytrade_logging._lock:
        keytrade_logging._secrets.intersection_update(saved)
        keytrade_logging._longest_first = tuple(sorted(saved, key=len, reverse=True))


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttling and 2FA reuse live in the cache; with Redis it outlives a test.
    cache.clear()
    yield


PASSWORD = "correct horse battery staple 42"


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **extra
    )


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def charlie(db):
    return make_user("charlie")


from tests.paper_fixtures import (  # noqa: E402,F401 - fixtures shared by every test directory
    paper_binance,
    paper_key,
    paper_server,
    paper_url,
)


class Clock:
    """A controllable `django.utils.timezone.now` (aware UTC)."""

    def __init__(self, now):
        self.now = now

    def set(self, now):
        self.now = now

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """Freeze keytrade's clock at 2026-03-01 07:00 UTC; move it with clock.set/advance."""
    from datetime import UTC, datetime

    from django.utils import timezone

    frozen = Clock(datetime(2026, 3, 1, 7, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.fixture
def eager_tasks(monkeypatch):
    """Run Celery tasks in-process when queued (on commit), propagating their errors."""
    from keytrade.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)
    return app

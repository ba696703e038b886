"""Browser end-to-end fixtures: Debian's Chromium driven by Playwright against keytrade.

Two targets, the same journey:

- By default, pytest-django's live server (threaded, in this process) serves keytrade and, under
  /paper, the paper exchange that ccxt talks to over real HTTP. Celery runs eagerly, and a
  thread stands in for beat: it runs the bots' dispatch task twice a second, so bot ticks and
  their orders run as a worker would run them.
- With KEYTRADE_E2E_BASE_URL set (`.ci/run` does, after `make test`), the browser drives a
  running deployment instead: gunicorn, a Celery worker and beat as separate processes with
  production settings on PostgreSQL and Redis. The test then never touches that deployment's
  database: the first admin comes from `manage.py ensure_admin` (KEYTRADE_E2E_ADMIN_USERNAME /
  KEYTRADE_E2E_ADMIN_PASSWORD), everyone else is created through the pages, every check reads
  a page, and every request carries the X-Forwarded-Proto header of a TLS-terminating proxy.

Playwright never downloads a browser here.
"""

import io
import logging
import os
import re
import threading
import time
import types
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pytest
from allauth.mfa.totp.internal import auth as allauth_totp
from playwright.sync_api import expect

from keytrade.celery import app
from tests.accounts.conftest import totp_code
from tests.conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
BASE_URL = os.environ.get("KEYTRADE_E2E_BASE_URL", "").rstrip("/")
# What a TLS-terminating proxy adds in front of a production deployment.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}

logger = logging.getLogger(__name__)


# Module scope, not session: Playwright's sync API runs an event loop in this thread until it
# stops, and later tests that call asyncio.run() (async ccxt) must not find it running.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{message}, and CI=true forbids skipping them")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright must never fetch a browser of its own.
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's async-safety guard would refuse them.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict]()


class TotpClock:
    """Codes from an authenticator app, never one the server has already accepted.

    allauth refuses a code twice, so a second login needs the next 30-second window. Against
    the live server the window is reached by shifting allauth's clock (patched in-process);
    against a deployment in other processes the clock cannot move, so it waits.
    """

    def __init__(self, *, can_shift: bool):
        self.can_shift = can_shift
        self.shift = 0.0
        self.used: dict[str, int] = {}

    def time(self) -> float:
        return time.time() + self.shift

    def code(self, secret: str) -> str:
        """A code for a window after the last one used with this secret, not about to expire."""
        while True:
            now = self.time()
            window, left = int(now // 30), 30 - now % 30
            if window > self.used.get(secret, -1) and left >= 2:
                self.used[secret] = window
                return totp_code(secret, now)
            if self.can_shift and window <= self.used.get(secret, -1):
                self.shift += 30
            else:
                time.sleep(left + 0.1)


@dataclass
class Site:
    """Where the browser goes, who the first admin is, and how long the server may take."""

    url: str
    admin_username: str
    admin_password: str
    totp: TotpClock
    remote: bool
    timeout_ms: int


@pytest.fixture
def site(request):
    if BASE_URL:
        return request.getfixturevalue("deployed_site")
    return request.getfixturevalue("live_site")


@pytest.fixture
def deployed_site():
    username = os.environ.get("KEYTRADE_E2E_ADMIN_USERNAME", "admin")
    password = os.environ.get("KEYTRADE_E2E_ADMIN_PASSWORD", "")
    if not password:
        pytest.fail("KEYTRADE_E2E_BASE_URL needs KEYTRADE_E2E_ADMIN_PASSWORD (from ensure_admin)")
    # Worker and beat really run the ticks and orders: a few seconds more per step.
    return Site(BASE_URL, username, password, TotpClock(can_shift=False), True, 30_000)


def ensure_admin_credentials(output: str) -> tuple[str, str]:
    """The username and password that `manage.py ensure_admin` printed once."""
    found = re.search(r"username: (\S+)\s+password: (\S+)", output)
    assert found, f"ensure_admin printed no credentials: {output!r}"
    return found[1], found[2]


@pytest.fixture
def live_site(request, settings, monkeypatch, tmp_path):
    from django.apps import apps as django_apps
    from django.core.management import call_command

    from accounts.models import AuditChainHead
    from tests.paper.helpers import pin_market

    live_server = request.getfixturevalue("live_server")
    settings.PAPER_EXCHANGE_URL = live_server.url + "/paper"
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.VAR_DIR = tmp_path  # downloaded candles
    # What migrate leaves in a deployment, which an earlier transactional test may have flushed.
    AuditChainHead.objects.get_or_create(id=1)
    import_module("accounts.migrations.0004_role_groups").create_role_groups(django_apps, None)
    pin_market("BTCUSDT", "50000")
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)  # the first admin, as `make run` and CI make it
    username, password = ensure_admin_credentials(out.getvalue())

    clock = TotpClock(can_shift=True)
    monkeypatch.setattr(allauth_totp, "time", types.SimpleNamespace(time=clock.time))
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    beat = BeatThread()
    beat.start()
    yield Site(live_server.url, username, password, clock, False, 10_000)
    beat.stop()
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


class BeatThread(threading.Thread):
    """Beat's bot schedule in a thread: dispatch due bots; eager Celery runs their ticks here."""

    def __init__(self):
        super().__init__(name="e2e-beat", daemon=True)
        self.stopping = threading.Event()

    def run(self):
        from django.db import connections

        from trading.tasks import bots_dispatch_task

        try:
            while not self.stopping.wait(0.5):
                try:
                    bots_dispatch_task()
                except Exception:  # a failed tick shows on the bot's page; keep dispatching
                    logger.exception("bot dispatch failed")
        finally:
            connections.close_all()

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


@pytest.fixture
def page(browser, site, request):
    context = browser.new_context(
        viewport=VIEWPORT,
        locale="en-GB",
        extra_http_headers=PROXY_HEADERS if site.remote else None,
    )
    context.set_default_timeout(site.timeout_ms)
    expect.set_options(timeout=site.timeout_ms)
    page = context.new_page()
    yield page
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:  # what the browser showed when the test failed
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
        (SCREENSHOTS / f"FAILED-{request.node.name}.html").write_text(page.content())
    context.close()


@pytest.fixture
def shoot():
    """shoot(page, name): save what the 1280x800 viewport shows under test-artifacts/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save

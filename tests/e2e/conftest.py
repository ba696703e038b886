"""Browser end-to-end fixtures: Debian's Chromium driven by Playwright against a live server.

The live server (pytest-django's, threaded, in this process) serves keytrade and, under
/paper, the paper exchange that ccxt talks to over real HTTP. Celery runs eagerly in the
request thread, as tests/trading/test_pages_end_to_end.py does, so a page's queued work has
happened by the time its response is back. Playwright never downloads a browser here.
"""

import os
import time
import types
from pathlib import Path

import pytest
from allauth.mfa.totp.internal import auth as allauth_totp

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


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:  # what the browser showed when the test failed
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
        (SCREENSHOTS / f"FAILED-{request.node.name}.html").write_text(page.content())
    context.close()


@pytest.fixture
def eager_celery():
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


class TotpClock:
    """allauth's TOTP clock, shiftable: a second login then needs a code from a new window."""

    def __init__(self):
        self.shift = 0.0

    def time(self) -> float:
        return time.time() + self.shift

    def code(self, secret: str) -> str:
        """A code for the current window, not about to expire before the server checks it."""
        if 30 - self.time() % 30 < 2:
            time.sleep(2.1)
        return totp_code(secret, self.time())

    def next_window(self) -> None:
        self.shift += 30


@pytest.fixture
def totp_clock(monkeypatch):
    clock = TotpClock()
    monkeypatch.setattr(allauth_totp, "time", types.SimpleNamespace(time=clock.time))
    return clock


@pytest.fixture
def shoot():
    """shoot(page, name): save a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save

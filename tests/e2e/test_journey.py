"""A deployment's first day, in a real browser, ending with the admin's look at the audit trail.

The first admin (from `manage.py ensure_admin`) logs in, enrols an authenticator app and adds
a trader. The trader logs in, enrols, logs out and back in with a fresh code; creates a key on
the paper exchange's key page and copies its one-time secret from the page; connects it; sees
the paper balances; places a limit order through the ticket (review, confirm) and cancels it;
starts a live DCA bot on the paper key and watches its fill arrive on the polled bot page, then
stops it; downloads candles and runs a backtest whose equity chart is drawn; rotates the key.
Then the admin logs in with a new code and finds every step in the audit log.

Every check reads a page, so the same journey runs against the live server and, in CI, against
gunicorn, a worker and beat with production settings (KEYTRADE_E2E_BASE_URL; see conftest.py).
"""

import pytest
from playwright.sync_api import expect

from tests.e2e import steps
from tests.e2e.conftest import BASE_URL
from tests.e2e.steps import TRADER

# Against the real processes every step waits for the worker, and a login waits out a TOTP window.
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]
if not BASE_URL:  # the live server's database; a deployment's is never touched
    pytestmark.append(pytest.mark.django_db(transaction=True))

# The trader's own actions, as their audit events.
TRADER_EVENTS = [
    "login.success",
    "mfa.enrolled",
    "key.connected",
    "order.new",
    "bot.created",
    "bot.started",
    "bot.stopped",
    "candledownload.queue",
    "backtestrun.queue",
    "key.rotated",
]
# Written by the worker as the exchange answered: the cancellation, and the bot's filled buy.
ORDER_EVENTS = ["order.canceled", "order.filled"]


def test_a_deployments_first_day_from_the_admins_setup_to_the_audit_trail(page, site, shoot):
    admin_secret = the_admin_sets_up_two_factor_and_adds_a_trader(page, site)
    key_id = the_trader_connects_a_paper_key_and_trades(page, site, shoot)
    the_trader_runs_a_dca_bot(page, site, shoot)
    the_trader_runs_a_backtest(page, site, shoot)
    new_api_key, new_secret = steps.create_paper_key(page, site, "keytrade rotated")
    steps.rotate_key(page, site, key_id, new_api_key, new_secret)
    page.goto(f"{site.url}/keys/")
    shoot(page, "keys-page")
    steps.log_out(page, site)

    steps.log_in_with_two_factor(page, site, site.admin_username, admin_secret, site.admin_password)
    steps.audit_log_lists(page, site, f"actor_username={TRADER}", TRADER_EVENTS)
    page.click("#toggle-nav-sidebar")  # the whole table in the screenshot
    shoot(page, "admin-audit-log")
    steps.audit_log_lists(page, site, "q=order.", ORDER_EVENTS)
    steps.audit_log_lists(page, site, f"q={site.admin_username}", ["mfa.enrolled", "user.created"])


def the_admin_sets_up_two_factor_and_adds_a_trader(page, site) -> str:
    steps.password_step(page, site, site.admin_username, site.admin_password)
    expect(steps.log_out_button(page)).to_be_visible()
    steps.cookies_are_secure_behind_the_proxy(page, site)
    secret = steps.enrol_authenticator(page, site, site.admin_password)
    steps.admin_adds_a_trader(page, site, TRADER)
    steps.log_out(page, site)
    return secret


def the_trader_connects_a_paper_key_and_trades(page, site, shoot) -> str:
    steps.password_step(page, site, TRADER)
    secret = steps.enrol_authenticator(page, site)
    steps.log_out(page, site)
    steps.log_in_with_two_factor(page, site, TRADER, secret)  # the next window's code

    api_key, paper_secret = steps.create_paper_key(page, site, "keytrade")
    shoot(page, "paper-key-created")
    key_id = steps.connect_key(page, site, api_key, paper_secret)

    steps.balances_are_valued(page, site)
    shoot(page, "overview-balances")

    steps.place_and_cancel_limit_order(page, site, key_id, shoot)
    return key_id


def the_trader_runs_a_dca_bot(page, site, shoot) -> None:
    steps.create_and_start_dca_bot(page, site)
    steps.bot_fill_appears_without_reloading(page, site, shoot)
    steps.stop_bot(page)


def the_trader_runs_a_backtest(page, site, shoot) -> None:
    steps.download_candles(page, site, days=10)
    steps.run_backtest(page, site)
    steps.equity_chart_is_drawn(page)
    shoot(page, "backtest-equity-chart")

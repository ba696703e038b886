"""A trader's first day, in a real browser, then the admin's look at the audit trail.

Log in, enrol an authenticator app, log out and back in with a fresh code; create a key on
the paper exchange's key page and copy its one-time secret from the page; connect it; see the
paper balances; place a limit order through the ticket (review, confirm) and cancel it; rotate
the key to a second paper key; then an admin with two-factor finds every step in the audit log.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from accounts.models import AuditChainHead, AuditEvent, ExchangeKey
from tests.accounts.conftest import TOTP_SECRET, enrol_totp
from tests.conftest import PASSWORD, make_user
from tests.paper.helpers import pin_market
from trading.models import Order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]

TRADER_PERMISSIONS = ["connect_keys", "place_orders", "run_bots"]


@pytest.fixture
def site(live_server, settings, eager_celery):
    settings.PAPER_EXCHANGE_URL = live_server.url + "/paper"
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    AuditChainHead.objects.get_or_create(id=1)  # flushed by transactional tests
    pin_market("BTCUSDT", "50000")
    return live_server.url


@pytest.fixture
def alice_trader(db):
    user = make_user("alice")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=TRADER_PERMISSIONS
        )
    )
    return user


def password_step(page, site, username):
    page.goto(f"{site}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()


def code_step(page, code):
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", code)
    page.get_by_role("button", name="Verify").click()


def enrol_authenticator(page, site, totp_clock) -> str:
    page.goto(f"{site}/accounts/2fa/totp/activate/")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.fill("#id_password", PASSWORD)  # allauth asks again before any two-factor change
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Cannot scan? Enter this key by hand").click()
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#id_code", totp_clock.code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))
    return secret


def log_out(page, site):
    page.get_by_role("navigation").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation").get_by_role("button", name="Log out")).to_have_count(0)


def create_paper_key(page, site, label) -> tuple[str, str]:
    page.goto(f"{site}/paper/keys/")
    page.fill("#id_label", label)
    page.check("#id_can_trade")
    page.fill("#id_ip_whitelist", "127.0.0.1")
    page.get_by_role("button", name="Create API key").click()
    box = page.get_by_role("alert")
    expect(box).to_contain_text("copy the secret now")
    api_key, secret = (c.strip() for c in box.locator("code").all_inner_texts())
    return api_key, secret


def connect_key(page, site, api_key, secret) -> str:
    page.goto(f"{site}/keys/connect/")
    page.fill("#id_exchange", "paper")
    page.fill("#id_label", "Paper main")
    page.fill("#id_api_key", api_key)
    page.fill("#id_secret", secret)
    page.check("#id_scope_trade")
    page.fill("#id_ip_whitelist", "127.0.0.1")
    page.get_by_role("button", name="Connect key").click()
    expect(page.get_by_text("Connected “Paper main”")).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def place_and_cancel_limit_order(page, site, key_id, shoot):
    page.goto(f"{site}/market/{key_id}/BTC-USDT/")
    page.check("#id_side_0")  # buy
    page.select_option("#id_type", "limit")
    page.fill("#id_amount", "0.01")
    page.fill("#id_price", "45000")
    page.get_by_role("button", name="Review order").click()
    expect(page.get_by_text("450.00").first).to_be_visible()  # the estimated cost
    shoot(page, "order-review")
    page.get_by_role("button", name=re.compile(r"^Confirm")).click()
    order = Order.objects.get(status=Order.Status.OPEN)
    row = page.locator(f"#order-{order.pk}")
    expect(row).to_contain_text("45,000.00")
    shoot(page, "orders-open-limit-order")
    page.goto(f"{site}/orders/{order.pk}/cancel/")
    page.get_by_role("button", name="Yes, cancel the order").click()
    expect(page.get_by_text("No open orders.")).to_be_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED


def rotate_key(page, site, key_id, api_key, secret):
    page.goto(f"{site}/keys/{key_id}/rotate/")
    page.fill("#id_api_key", api_key)
    page.fill("#id_secret", secret)
    page.get_by_role("button", name="Check and rotate").click()
    expect(page.get_by_text(re.compile(r"Rotated “Paper main”"))).to_be_visible()


def test_a_traders_first_session_and_the_admins_audit_view(
    page, site, alice_trader, totp_clock, shoot
):
    password_step(page, site, "alice")
    secret = enrol_authenticator(page, site, totp_clock)
    log_out(page, site)
    totp_clock.next_window()  # the enrolment code is spent; the app shows the next one
    password_step(page, site, "alice")
    code_step(page, totp_clock.code(secret))
    expect(page.get_by_role("link", name="Keys").first).to_be_visible()

    api_key, paper_secret = create_paper_key(page, site, "keytrade")
    shoot(page, "paper-key-created")
    key_id = connect_key(page, site, api_key, paper_secret)

    page.goto(f"{site}/")
    expect(page.get_by_text("10,000.00").first).to_be_visible()  # the paper USDT balance
    page.get_by_role("button", name="Refresh").click()  # fetch prices to value BTC and ETH
    expect(page.get_by_text("25,000.00").first).to_be_visible()  # 0.5 BTC at the pinned 50,000
    shoot(page, "overview-balances")

    place_and_cancel_limit_order(page, site, key_id, shoot)

    new_api_key, new_secret = create_paper_key(page, site, "keytrade rotated")
    rotate_key(page, site, key_id, new_api_key, new_secret)
    key = ExchangeKey.objects.get(pk=key_id)
    assert key.fingerprint.endswith(new_api_key[-4:])

    log_out(page, site)
    admin_sees_the_trail(page, site, totp_clock, shoot)


def admin_sees_the_trail(page, site, totp_clock, shoot):
    root = make_user("root", is_staff=True, is_superuser=True)
    enrol_totp(root, TOTP_SECRET)
    password_step(page, site, "root")
    code_step(page, totp_clock.code(TOTP_SECRET))
    page.goto(f"{site}/admin/accounts/auditevent/?actor_username=alice")
    expected = set(
        AuditEvent.objects.filter(actor_username="alice").values_list("event_type", flat=True)
    )
    assert {
        "login.success",
        "mfa.enrolled",
        "key.connected",
        "order.new",
        "key.rotated",
    } <= expected
    assert AuditEvent.objects.filter(event_type="order.canceled").exists()  # by the worker
    for event_type in expected:
        expect(page.locator("#result_list").get_by_text(event_type).first).to_be_visible()
    shoot(page, "admin-audit-log")

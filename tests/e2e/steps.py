"""What a person does in keytrade's pages, one function a step, and what they then see.

Every check reads a page: the same steps run against the live server and against a deployment
whose database the test never touches (see conftest.py).
"""

import re
import time

from playwright.sync_api import expect

from tests.conftest import PASSWORD

TRADER = "alice"
BOT_NAME = "DCA e2e"
# The share of the equity chart's width its curve must span to count as drawn.
CURVE_COVERAGE = 0.5


# --- logging in ------------------------------------------------------------------------------


def password_step(page, site, username, password=PASSWORD):
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()


def code_step(page, code):
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", code)
    page.get_by_role("button", name="Verify").click()


def log_in_with_two_factor(page, site, username, secret, password=PASSWORD):
    password_step(page, site, username, password)
    code_step(page, site.totp.code(secret))
    expect(log_out_button(page)).to_be_visible()


def enrol_authenticator(page, site, password=PASSWORD) -> str:
    page.goto(f"{site.url}/accounts/2fa/totp/activate/")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.fill("#id_password", password)  # allauth asks again before any two-factor change
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Cannot scan? Enter this key by hand").click()
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#id_code", site.totp.code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))
    return secret


def log_out_button(page):
    return page.get_by_role("navigation").get_by_role("button", name="Log out")


def log_out(page, site):
    if "/admin/" in page.url:  # the admin has its own header; log out from keytrade's pages
        page.goto(f"{site.url}/")
    log_out_button(page).click()
    expect(log_out_button(page)).to_have_count(0)


def cookies_are_secure_behind_the_proxy(page, site):
    """Behind the TLS proxy, session and CSRF cookies are Secure (and the session HttpOnly)."""
    if not site.remote:
        return  # the test settings serve plain HTTP without a proxy
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httpOnly"]
    assert cookies["csrftoken"]["secure"]
    response = page.goto(f"{site.url}/")
    assert "max-age=" in response.headers["strict-transport-security"]


# --- the admin -------------------------------------------------------------------------------


def admin_adds_a_trader(page, site, username):
    """The admin creates a user and moves them from the default viewer role to trader."""
    page.goto(f"{site.url}/admin/accounts/user/add/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.select_option("#id_groups_to", label="viewer")
    page.click("#id_groups_remove")
    page.select_option("#id_groups_from", label="trader")
    page.click("#id_groups_add")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(re.compile(rf"The user “{username}” was added"))).to_be_visible()


def audit_log_lists(page, site, query: str, event_types) -> None:
    page.goto(f"{site.url}/admin/accounts/auditevent/?{query}")
    results = page.locator("#result_list")
    for event_type in event_types:
        expect(results.get_by_text(event_type, exact=True).first).to_be_visible()


# --- keys ------------------------------------------------------------------------------------


def create_paper_key(page, site, label) -> tuple[str, str]:
    page.goto(f"{site.url}/paper/keys/")
    page.fill("#id_label", label)
    page.check("#id_can_trade")
    page.fill("#id_ip_whitelist", "127.0.0.1")
    page.get_by_role("button", name="Create API key").click()
    box = page.get_by_role("alert")
    expect(box).to_contain_text("copy the secret now")
    api_key, secret = (c.strip() for c in box.locator("code").all_inner_texts())
    return api_key, secret


def connect_key(page, site, api_key, secret) -> str:
    page.goto(f"{site.url}/keys/connect/")
    page.fill("#id_exchange", "paper")
    page.fill("#id_label", "Paper main")
    page.fill("#id_api_key", api_key)
    page.fill("#id_secret", secret)
    page.check("#id_scope_trade")
    page.fill("#id_ip_whitelist", "127.0.0.1")
    page.get_by_role("button", name="Connect key").click()
    expect(page.get_by_text("Connected “Paper main”")).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def rotate_key(page, site, key_id, api_key, secret):
    page.goto(f"{site.url}/keys/{key_id}/rotate/")
    page.fill("#id_api_key", api_key)
    page.fill("#id_secret", secret)
    page.get_by_role("button", name="Check and rotate").click()
    expect(page.get_by_text(re.compile(r"Rotated “Paper main”"))).to_be_visible()
    # Only the fingerprint is ever shown: first and last four characters of the new key.
    expect(page.get_by_text(new_fingerprint_pattern(api_key)).first).to_be_visible()


def new_fingerprint_pattern(api_key):
    return re.compile(re.escape(api_key[:4]) + r".*" + re.escape(api_key[-4:]))


# --- balances and orders ----------------------------------------------------------------------


def reload_until_visible(page, site, text: str) -> None:
    """Reload, as a person would after "new data appears within moments", until text shows."""
    deadline = time.monotonic() + site.timeout_ms / 1000
    while not page.get_by_text(text).first.is_visible():
        assert time.monotonic() < deadline, f"{text!r} never appeared on {page.url}"
        page.wait_for_timeout(1000)
        page.reload()


def balances_are_valued(page, site) -> None:
    page.goto(f"{site.url}/")
    # Fetch balances and prices now (the worker syncs in the background after connecting).
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_text("Refreshing 1 key(s)")).to_be_visible()
    reload_until_visible(page, site, "25,000.00")  # 0.5 BTC at the pinned 50,000
    expect(page.get_by_text("10,000.00").first).to_be_visible()  # the paper USDT balance


def place_and_cancel_limit_order(page, site, key_id, shoot):
    page.goto(f"{site.url}/market/{key_id}/BTC-USDT/")
    page.check("#id_side_0")  # buy
    page.select_option("#id_type", "limit")
    page.fill("#id_amount", "0.01")
    page.fill("#id_price", "45000")
    page.get_by_role("button", name="Review order").click()
    expect(page.get_by_text("450.00").first).to_be_visible()  # the estimated cost
    shoot(page, "order-review")
    page.get_by_role("button", name=re.compile(r"^Confirm")).click()
    row = page.locator("tr[id^='order-']").filter(has_text="45,000.00")
    expect(row).to_have_count(1)  # resting on the book, below the market
    shoot(page, "orders-open-limit-order")
    order_id = row.get_attribute("id").removeprefix("order-")
    page.goto(f"{site.url}/orders/{order_id}/cancel/")
    page.get_by_role("button", name="Yes, cancel the order").click()
    expect(page.get_by_text("No open orders.")).to_be_visible()


# --- bots ------------------------------------------------------------------------------------


def section(page, heading):
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading))


def create_and_start_dca_bot(page, site) -> None:
    page.goto(f"{site.url}/bots/new/?strategy=dca")
    page.fill("#id_name", BOT_NAME)
    page.fill("#id_symbol", "BTC/USDT")
    page.fill("#id_tick_interval_seconds", "2")
    page.fill("#id_p-quote_amount", "100")
    page.fill("#id_p-interval_minutes", "60")
    page.select_option("#id_mode", "live")  # on the paper key: real orders, no real money
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_text(f"Created “{BOT_NAME}”")).to_be_visible()
    page.get_by_role("button", name="Start…").click()
    expect(page.get_by_text("This is the paper exchange")).to_be_visible()
    page.check("#id_confirm_live")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_text(f"Started “{BOT_NAME}”")).to_be_visible()


def bot_fill_appears_without_reloading(page, site, shoot) -> None:
    """The bot page polls (htmx): its first buy shows up in the same document."""
    page.evaluate("window.keytradeE2eMarker = 'same document'")
    fills = section(page, "Fills").locator("tbody tr")
    # Tick, send the market buy, tick again to book the fill, then the next poll (every 5 s).
    expect(fills.filter(has_text="buy").first).to_be_visible(timeout=60_000)
    # 100 USDT at the ask (the pinned 50,000 plus half the paper book's spread), less the fee.
    expect(fills.first).to_contain_text(
        re.compile(r"buy\s*buy\s*50002\.50000000\s*0\.00199000", re.IGNORECASE)
    )
    expect(section(page, "Position").locator("tbody tr").first).to_contain_text("BTC/USDT")
    assert page.evaluate("window.keytradeE2eMarker") == "same document", "the page reloaded"
    orders = section(page, "Orders").locator("tbody tr")
    expect(orders.first).to_contain_text("Filled")
    page.get_by_role("heading", name="Position").evaluate("(h) => h.scrollIntoView()")
    shoot(page, "bot-with-a-fill")


def stop_bot(page) -> None:
    page.get_by_role("button", name="Stop…").click()
    expect(page.get_by_role("heading", name=f"Stop “{BOT_NAME}”?")).to_be_visible()
    page.get_by_role("button", name="Stop the bot").click()
    expect(page.get_by_text(f"Stopped “{BOT_NAME}”")).to_be_visible()
    expect(page.locator(".bot-status")).to_have_text("Stopped")


# --- backtests -------------------------------------------------------------------------------


def download_candles(page, site, days: int) -> None:
    page.goto(f"{site.url}/candles/")
    page.select_option("#id_exchange", "paper")
    page.fill("#id_symbol", "BTC/USDT")
    page.select_option("#id_timeframe", "1h")
    page.fill("#id_days", str(days))
    page.get_by_role("button", name="Download").click()
    expect(page).to_have_url(re.compile(r"/candles/downloads/"))
    # The status polls every second; when the worker is done, htmx reloads the page.
    expect(page.get_by_text("No gaps: every bar of the period is stored.")).to_be_visible(
        timeout=60_000
    )


def run_backtest(page, site) -> None:
    page.get_by_role("button", name="Backtest on these candles").click()
    page.select_option("#id_series", value="paper|BTC/USDT|1h")
    page.fill("#id_p-fast", "5")
    page.fill("#id_p-slow", "20")
    page.get_by_role("button", name="Run backtest").click()
    expect(page).to_have_url(re.compile(r"/backtests/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name="Statistics")).to_be_visible(timeout=60_000)


def equity_chart_is_drawn(page) -> None:
    """The equity curve is drawn across the chart: its colour inks most of the canvas's columns.

    Lightweight Charts paints on canvases, so the pixels are read back: a box without data, or
    one with only axes, has no column in the series colour (#1f5fa8, static/trading/backtest.js).
    """
    expect(page.locator("#chart-status")).to_have_text(re.compile(r"^\d+ 1h candles; "))
    expect(page.locator("#equity-chart canvas").first).to_be_attached()
    covered = page.evaluate(
        """() => Math.max(0, ...[...document.querySelectorAll('#equity-chart canvas')].map((c) => {
            if (c.width < 100 || !c.height) return 0;
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const columns = new Set();
            for (let i = 0; i < px.length; i += 4) {
                const [r, g, b, a] = px.slice(i, i + 4);
                const near = Math.abs(r - 31) + Math.abs(g - 95) + Math.abs(b - 168);
                if (a > 200 && near < 40) columns.add((i / 4) % c.width);
            }
            return columns.size / c.width;
        }))"""
    )
    assert covered > CURVE_COVERAGE, f"no equity curve drawn ({covered:.0%} of columns inked)"

"""The paper exchange's pages: dashboard, reset, API-key management, test controls."""

import pytest
from django.urls import reverse

from paper.models import Fault, PaperApiKey, PaperOrder, PriceAnchor, SimClock
from paper.services.accounts import account_get_or_create
from paper.services.keys import key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def alices_key(alice):
    key, _ = key_create(account=account_get_or_create(user=alice), label="bot", can_trade=True)
    return key


def test_the_first_visit_opens_an_account_with_the_starting_balances(alice_client, alice):
    page = alice_client.get(reverse("paper:home")).content.decode()
    balances = {b.asset: b.free for b in alice.paper_account.balances.all()}
    assert balances["USDT"] == 10000 and balances["BTC"] == 0.5 and balances["ETH"] == 5
    assert "10000.00000000" in page and "BTC/USDT" in page
    assert 'href="/paper/"' in page  # the nav link


def test_signed_out_visitors_are_sent_to_log_in(client):
    assert client.get(reverse("paper:home")).status_code == 302
    assert client.get(reverse("paper:keys")).status_code == 302


def test_resetting_balances_asks_first_then_cancels_orders_and_restores(alice_client, alice):
    account = account_get_or_create(user=alice)
    account.balances.filter(asset="USDT").update(free=1, locked=500)
    PaperOrder.objects.create(
        account=account, symbol="BTCUSDT", client_order_id="x", side="BUY", type="LIMIT",
        time_in_force="GTC", price=50000, orig_qty="0.01", status="NEW", created_ms=1,
        updated_ms=1, locked_asset="USDT", locked_amount=500,
    )  # fmt: skip
    assert "Reset balances" in alice_client.get(reverse("paper:reset")).content.decode()
    assert account.balances.get(asset="USDT").free == 1  # nothing happened yet
    alice_client.post(reverse("paper:reset"))
    usdt = account.balances.get(asset="USDT")
    assert (usdt.free, usdt.locked) == (10000, 0)
    assert PaperOrder.objects.get(client_order_id="x").status == "CANCELED"


def test_creating_a_key_shows_its_secret_once(alice_client, alice):
    response = alice_client.post(
        reverse("paper:keys"),
        {"label": "my bot", "can_trade": "on", "ip_whitelist": "127.0.0.1\n10.0.0.0/8"},
    )
    key = PaperApiKey.objects.get(account__user=alice)
    page = response.content.decode()
    assert key.secret in page and key.api_key in page
    assert response["Cache-Control"] == "no-store"
    assert key.can_trade and not key.can_withdraw
    assert key.ip_whitelist == ["10.0.0.0/8", "127.0.0.1/32"]
    later = alice_client.get(reverse("paper:keys")).content.decode()
    assert key.secret not in later and key.api_key not in later
    assert key.fingerprint in later


def test_a_bad_ip_restriction_is_refused(alice_client, alice):
    response = alice_client.post(reverse("paper:keys"), {"label": "x", "ip_whitelist": "not-an-ip"})
    assert "Not an IP address" in response.content.decode()
    assert not PaperApiKey.objects.exists()


def test_editing_a_key_changes_permissions_restriction_and_expiry(alice_client, alices_key):
    url = reverse("paper:key_edit", args=[alices_key.public_id])
    assert alice_client.get(url).status_code == 200
    alice_client.post(
        url,
        {"label": "renamed", "can_withdraw": "on", "ip_whitelist": "", "expires_on": "2030-01-02"},
    )
    alices_key.refresh_from_db()
    assert alices_key.label == "renamed"
    assert not alices_key.can_trade and alices_key.can_withdraw
    assert alices_key.expires_at.isoformat().startswith("2030-01-02T23:59:59")


def test_a_key_can_be_disabled_enabled_and_deleted_after_confirming(alice_client, alices_key):
    toggle = reverse("paper:key_toggle", args=[alices_key.public_id])
    alice_client.post(toggle)
    alices_key.refresh_from_db()
    assert not alices_key.is_enabled
    alice_client.post(toggle)
    alices_key.refresh_from_db()
    assert alices_key.is_enabled
    delete = reverse("paper:key_delete", args=[alices_key.public_id])
    assert "cannot be undone" in alice_client.get(delete).content.decode()
    assert PaperApiKey.objects.filter(pk=alices_key.pk).exists()
    alice_client.post(delete)
    assert not PaperApiKey.objects.filter(pk=alices_key.pk).exists()


@pytest.mark.parametrize("name", ["paper:key_edit", "paper:key_toggle", "paper:key_delete"])
def test_someone_elses_key_is_not_found(client, charlie, alices_key, name):
    client.force_login(charlie)
    url = reverse(name, args=[alices_key.public_id])
    assert client.get(url).status_code in (404, 405)
    assert client.post(url, {"label": "stolen"}).status_code == 404
    alices_key.refresh_from_db()
    assert alices_key.label == "bot" and alices_key.is_enabled


def test_test_controls_are_for_staff_only(alice_client, alice):
    assert alice_client.get(reverse("paper:controls")).status_code == 302
    alice.is_staff = True
    alice.save()
    assert alice_client.get(reverse("paper:controls")).status_code == 200


def test_staff_freeze_the_clock_pin_a_price_and_inject_a_fault(client, admin_user):
    client.force_login(admin_user)
    url = reverse("paper:controls")
    client.post(url, {"form": "clock", "action": "freeze"})
    assert SimClock.objects.get().frozen_ms is not None
    client.post(url, {"form": "price", "symbol": "ETHUSDT", "price": "2500.5"})
    assert PriceAnchor.objects.get().price == 2500.5
    client.post(url, {"form": "fault", "kind": "error_503", "endpoint": "api/v3/order",
                      "method": "POST", "count": "2"})  # fmt: skip
    fault = Fault.objects.get()
    assert (fault.kind, fault.endpoint, fault.method, fault.remaining) == (
        "error_503",
        "api/v3/order",
        "POST",
        2,
    )
    client.post(url, {"form": "clear_faults"})
    assert not Fault.objects.exists()


def test_binance_endpoints_are_sessionless_and_csrf_exempt(client):
    response = client.post("/paper/api/v3/order", "symbol=BTCUSDT", content_type="text/plain")
    assert response.status_code == 401 and response.json()["code"] == -2014
    assert "Set-Cookie" not in response.headers
    assert client.get("/paper/api/v3/ping").json() == {}


def test_secrets_are_stored_encrypted_yet_recoverable(alice):
    from django.db import connection

    key, secret = key_create(account=account_get_or_create(user=alice), label="x")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {PaperApiKey._meta.db_table} WHERE id = %s", [key.pk])
        stored = bytes(cursor.fetchone()[0])
    assert secret.encode() not in stored
    assert PaperApiKey.objects.get(pk=key.pk).secret == secret

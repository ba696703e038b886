"""The exchange-key pages: connect, list, detail, edit, disable, delete; secrets are write-only."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from accounts.models import AuditEvent, ExchangeKey
from accounts.validators import WITHDRAW_CONFIRMATION_PHRASE
from tests.conftest import PASSWORD
from tests.vault_helpers import (
    API_KEY,
    PASSPHRASE,
    SECRET,
    connect,
    enable_mfa,
    grant_connect,
    leaks,
    raw_row,
)
from trading.views.keys import key_connect_view

pytestmark = pytest.mark.django_db

WRONG_CRYPTOGRAPHY_KEY = "0Yb7s5mB6Kk3bq0oD3Q1y7cX9v2n4Lr8tJ5hF1gE2dA="
KEY_PAGES = ["key_detail", "key_edit", "key_disable", "key_delete"]


@pytest.fixture
def trader(alice):
    return grant_connect(alice)


@pytest.fixture
def alice_client(client, trader):
    client.force_login(trader)
    return client


@pytest.fixture
def alice_key(trader):
    return connect(trader, exchange="okx", passphrase=PASSPHRASE, ip_whitelist=[])


def _form(**overrides) -> dict:
    data = {
        "exchange": "paper",
        "label": "Paper main",
        "api_key": API_KEY,
        "secret": SECRET,
        "passphrase": "",
        "scope_read": "on",
        "ip_whitelist": "203.0.113.7\n2001:db8::/48",
        "rotation_period_days": "90",
        "withdraw_confirmation": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _post_connect(client, **overrides):
    return client.post(reverse("trading:key_connect"), _form(**overrides))


def _errors(response) -> dict:
    return response.context["form"].errors


def _all_key_urls(key) -> list[str]:
    return [reverse(f"trading:{name}", args=[key.id]) for name in KEY_PAGES]


# --- connecting through the page ------------------------------------------------------


def test_connect_page_offers_a_searchable_exchange_list(alice_client):
    response = alice_client.get(reverse("trading:key_connect"))
    html = response.content.decode()
    assert '<datalist id="exchange-options">' in html
    assert '<option value="binance">Binance</option>' in html
    assert '<option value="paper">keytrade paper exchange</option>' in html
    assert 'id="exchange-credentials" type="application/json"' in html
    assert '"okx": {"name": "OKX", "passphrase": true' in html
    assert "trading/keys.js" in html and "<script>" not in html  # CSP: no inline script


def test_connecting_a_key_shows_only_its_fingerprint(alice_client, trader):
    response = _post_connect(alice_client)
    key = ExchangeKey.objects.get(user=trader)
    assert response.status_code == 302
    assert response["Location"] == reverse("trading:key_detail", args=[key.id])
    assert key.exchange == "paper" and key.ip_whitelist == ["203.0.113.7/32", "2001:db8::/48"]
    page = alice_client.get(response["Location"]).content.decode()
    assert f"{API_KEY[:4]}…{API_KEY[-4:]}" in page
    assert leaks(page, SECRET, API_KEY) == []
    assert AuditEvent.objects.filter(event_type="key.connected", actor_id=trader.pk).count() == 1


def test_exchange_can_be_typed_by_name(alice_client, trader):
    _post_connect(alice_client, exchange="Binance")
    assert ExchangeKey.objects.get(user=trader).exchange == "binance"


def test_passphrase_is_required_where_the_exchange_uses_one(alice_client, trader):
    response = _post_connect(alice_client, exchange="okx")
    assert "This exchange requires a passphrase." in _errors(response)["passphrase"]
    assert not ExchangeKey.objects.exists()
    _post_connect(alice_client, exchange="okx", passphrase=PASSPHRASE)
    assert ExchangeKey.objects.get(user=trader).exchange == "okx"


def test_a_passphrase_the_exchange_does_not_use_is_not_stored(alice_client, trader):
    _post_connect(alice_client, exchange="binance", passphrase=PASSPHRASE)
    assert ExchangeKey.objects.get(user=trader).passphrase == ""


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"exchange": "notanexchange"}, "exchange", "Unknown exchange"),
        ({"exchange": "hyperliquid"}, "exchange", "cannot store"),
        ({"secret": ""}, "secret", "Enter the secret."),
        ({"api_key": "x" * 513}, "api_key", "longer than 512"),
        ({"secret": SECRET + " "}, "secret", "spaces, line breaks or control"),
        ({"api_key": API_KEY[:10] + "\x07" + API_KEY[10:]}, "api_key", "control characters"),
        ({"ip_whitelist": "10.0.0.0/8\n300.1.1.1"}, "ip_whitelist", "not an IPv4 or IPv6"),
        ({"scope_withdraw": "on"}, "scope_withdraw", "confirmation typed exactly"),
        (
            {"scope_withdraw": "on", "withdraw_confirmation": "i understand"},
            "scope_withdraw",
            "confirmation typed exactly",
        ),
        ({"scope_trade": "on"}, "scope_trade", "two-factor"),
    ],
    ids=[
        "unknown-exchange",
        "unsupported-credentials",
        "missing-secret",
        "oversized-api-key",
        "trailing-space",
        "control-character",
        "invalid-cidr",
        "withdraw-unconfirmed",
        "withdraw-wrong-phrase",
        "trade-without-2fa",
    ],
)
def test_bad_input_gets_a_form_error_and_stores_nothing(alice_client, overrides, field, message):
    response = _post_connect(alice_client, **overrides)
    assert response.status_code == 200
    assert any(message in error for error in _errors(response)[field])
    assert not ExchangeKey.objects.exists()
    # The re-rendered form never echoes a credential back.
    assert leaks(response.content, SECRET, API_KEY) == []


def test_duplicate_key_gets_a_form_error(alice_client, trader):
    _post_connect(alice_client)
    response = _post_connect(alice_client, label="Again")
    assert "already connected" in _errors(response)["api_key"][0]
    assert ExchangeKey.objects.filter(user=trader).count() == 1


def test_trade_scope_with_two_factor_is_accepted(alice_client, trader):
    enable_mfa(trader)
    _post_connect(alice_client, scope_trade="on")
    assert ExchangeKey.objects.get(user=trader).scope_trade


def test_a_user_without_the_connect_permission_gets_403(client, bob):
    client.force_login(bob)
    assert client.get(reverse("trading:key_connect")).status_code == 403
    assert _post_connect(client).status_code == 403
    assert not ExchangeKey.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, alice_key):
    for url in [
        reverse("trading:key_list"),
        reverse("trading:key_connect"),
        *_all_key_urls(alice_key),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- warnings ---------------------------------------------------------------------------


def test_withdraw_key_carries_a_red_warning_on_every_page(alice_client, trader):
    _post_connect(
        alice_client, scope_withdraw="on", withdraw_confirmation=WITHDRAW_CONFIRMATION_PHRASE
    )
    key = ExchangeKey.objects.get(user=trader)
    assert key.scope_withdraw and key.withdraw_confirmed
    for url in [reverse("trading:key_list"), *_all_key_urls(key)]:
        html = alice_client.get(url).content.decode()
        assert "key-warning-withdraw" in html and "withdraw" in html.lower(), url


def test_key_without_ip_whitelist_carries_a_warning(alice_client, alice_key):
    for url in [reverse("trading:key_list"), *_all_key_urls(alice_key)]:
        html = alice_client.get(url).content.decode()
        assert "key-warning-ip" in html, url
        assert "no ip whitelist" in html.lower(), url


# --- no page reveals a secret, and no page decrypts -------------------------------------


def _every_page(client, key) -> dict[str, bytes]:
    urls = {url: url for url in [reverse("trading:key_list"), *_all_key_urls(key)]}
    urls["connect"] = reverse("trading:key_connect")
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, url
        pages[name] = response.content
    return pages


def test_no_key_page_shows_the_secret_passphrase_or_full_api_key(alice_client, alice_key):
    for url, body in _every_page(alice_client, alice_key).items():
        assert leaks(body, SECRET, PASSPHRASE, API_KEY) == [], url
        assert alice_key.fingerprint.encode() in body or url == "connect"


def test_admin_shows_keys_without_any_secret_field(client, alice_key):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    enable_mfa(admin)  # the admin opens only for staff with two-factor
    client.force_login(admin)
    changelist = client.get(reverse("admin:accounts_exchangekey_changelist"))
    change = client.get(reverse("admin:accounts_exchangekey_change", args=[alice_key.pk]))
    for response in (changelist, change):
        assert response.status_code == 200
        body = response.content.decode()
        assert leaks(body, SECRET, PASSPHRASE, API_KEY) == []
        assert alice_key.fingerprint in body
    assert not {"api_key", "secret", "passphrase"} & set(change.context["adminform"].form.fields)


def test_admin_can_disable_keys_through_the_audited_service(client, alice_key):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    enable_mfa(admin)  # the admin opens only for staff with two-factor
    client.force_login(admin)
    client.post(
        reverse("admin:accounts_exchangekey_changelist"),
        {"action": "disable_keys", "_selected_action": [str(alice_key.pk)]},
    )
    alice_key.refresh_from_db(fields=["status", "status_reason"])
    assert alice_key.status == ExchangeKey.Status.DISABLED
    assert AuditEvent.objects.get(event_type="key.disabled").actor_id == admin.pk


def test_pages_render_without_decrypting(alice_client, alice_key, settings):
    # With keys that cannot decrypt anything, every page still works: none loads a credential.
    settings.CRYPTOGRAPHY_KEY = WRONG_CRYPTOGRAPHY_KEY
    assert len(_every_page(alice_client, alice_key)) == 6
    alice_key.refresh_from_db(fields=["status"])
    assert alice_key.status == ExchangeKey.Status.ACTIVE


# --- edit, disable, delete ----------------------------------------------------------------


def test_edit_changes_settings_and_cannot_touch_credentials(alice_client, alice_key):
    before = raw_row(alice_key.pk)
    url = reverse("trading:key_edit", args=[alice_key.id])
    form = alice_client.get(url).context["form"]
    assert not {"api_key", "secret", "passphrase", "exchange"} & set(form.fields)
    response = alice_client.post(
        url,
        {
            "label": "OKX spot",
            "scope_read": "on",
            "ip_whitelist": "198.51.100.0/24",
            "rotation_period_days": "30",
            "secret": "attempted-overwrite-secret",
        },
    )
    assert response.status_code == 302
    alice_key.refresh_from_db(fields=["label", "ip_whitelist", "rotation_period_days"])
    assert (alice_key.label, alice_key.ip_whitelist) == ("OKX spot", ["198.51.100.0/24"])
    after = raw_row(alice_key.pk)
    columns = [f.column for f in ExchangeKey._meta.concrete_fields]
    for column in ("api_key", "secret", "passphrase", "api_key_digest"):
        assert after[columns.index(column)] == before[columns.index(column)]
    assert AuditEvent.objects.filter(event_type="key.updated").count() == 1


def test_edit_rejects_an_invalid_cidr(alice_client, alice_key):
    url = reverse("trading:key_edit", args=[alice_key.id])
    response = alice_client.post(
        url,
        {
            "label": "x",
            "scope_read": "on",
            "ip_whitelist": "1.2.3.4/99",
            "rotation_period_days": "90",
        },
    )
    assert "ip_whitelist" in _errors(response)
    alice_key.refresh_from_db(fields=["label"])
    assert alice_key.label == "Main"


def test_disable_confirms_first_then_disables(alice_client, alice_key):
    url = reverse("trading:key_disable", args=[alice_key.id])
    assert b"Disable key" in alice_client.get(url).content
    alice_key.refresh_from_db(fields=["status"])
    assert alice_key.status == ExchangeKey.Status.ACTIVE  # GET changed nothing
    alice_client.post(url, {"reason": "Going on holiday"})
    alice_key.refresh_from_db(fields=["status", "status_reason"])
    assert (alice_key.status, alice_key.status_reason) == ("disabled", "Going on holiday")
    assert AuditEvent.objects.filter(event_type="key.disabled").count() == 1


def test_delete_confirms_first_then_deletes(alice_client, alice_key):
    url = reverse("trading:key_delete", args=[alice_key.id])
    assert b"cannot be undone" in alice_client.get(url).content
    assert ExchangeKey.objects.filter(pk=alice_key.pk).exists()
    response = alice_client.post(url)
    assert response["Location"] == reverse("trading:key_list")
    assert not ExchangeKey.objects.filter(pk=alice_key.pk).exists()
    assert AuditEvent.objects.filter(event_type="key.deleted").count() == 1


# --- ownership ----------------------------------------------------------------------------


def test_an_outsider_gets_404_on_every_key_url_and_is_audited(client, bob, alice_key):
    client.force_login(grant_connect(bob))
    before = raw_row(alice_key.pk)
    urls = _all_key_urls(alice_key)
    responses = [client.get(url) for url in urls]
    responses += [
        client.post(
            url, {"label": "pwned", "scope_read": "on", "rotation_period_days": "1", "reason": "x"}
        )
        for url in urls
    ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert raw_row(alice_key.pk) == before
    denied = AuditEvent.objects.filter(event_type="access.denied", actor_id=bob.pk)
    assert denied.count() == len(responses)
    assert set(denied.values_list("target_id", flat=True)) == {str(alice_key.pk)}
    assert set(denied.values_list("outcome", flat=True)) == {"denied"}


def test_an_unknown_key_id_is_404_without_an_access_denied_event(alice_client):
    url = reverse("trading:key_detail", args=["00000000-0000-4000-8000-000000000000"])
    assert alice_client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(event_type="access.denied").exists()


def test_the_key_list_shows_only_the_users_own_keys(client, bob, alice_key):
    bobs = connect(grant_connect(bob), label="Bob's key", api_key="BOBkey-000111222333")
    client.force_login(bob)
    html = client.get(reverse("trading:key_list")).content.decode()
    assert "Bob&#x27;s key" in html and str(bobs.id) in html
    assert str(alice_key.id) not in html and alice_key.fingerprint not in html


def test_error_reports_hide_the_posted_credentials(rf, trader):
    request = rf.post(reverse("trading:key_connect"), _form(passphrase=PASSPHRASE))
    request.user, request.session = trader, {}
    request._messages = FallbackStorage(request)
    assert key_connect_view(request).status_code == 302
    filtered = SafeExceptionReporterFilter().get_post_parameters(request)
    for name in ("api_key", "secret", "passphrase"):
        assert filtered[name] == SafeExceptionReporterFilter.cleansed_substitute
    assert filtered["label"] == "Paper main"

"""Rotating a key: the new key is checked with the exchange first, then swapped in atomically.

Everything goes through the live paper exchange with real ccxt.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AuditEvent, ExchangeKey, Notification
from accounts.services.keys import key_credentials
from paper.models import PaperApiKey
from tests.conftest import make_user
from tests.paper.helpers import pin_market
from tests.trading.conftest import make_trader, paper_key_for
from tests.trading.paper_helpers import drive, exchange_orders
from trading.exchange import connect
from trading.exchange.connect import client_for_key
from trading.models import OrderIntent
from trading.services.key_rotation import key_rotate_verified
from trading.services.orders import order_place

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def exchange(trader, paper_url, paper_key, settings):
    """The paper exchange for the trader: exchange.new_key(**options) -> (api_key, secret)."""
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1

    class Exchange:
        @staticmethod
        def new_key(user=trader, **options):
            return paper_key(user=user, **options)

        @staticmethod
        def disable(api_key):
            PaperApiKey.objects.filter(api_key=api_key).update(is_enabled=False)

    return Exchange


@pytest.fixture
def old(exchange):
    return exchange.new_key()


@pytest.fixture
def key(trader, old):
    return paper_key_for(trader, api_key=old[0], secret=old[1])


def fresh(key) -> ExchangeKey:
    return ExchangeKey.objects.defer("api_key", "secret", "passphrase").get(pk=key.pk)


def rotate(key, actor, api_key, secret):
    return key_rotate_verified(key=key, api_key=api_key, secret=secret, actor=actor)


def test_a_verified_new_key_replaces_the_old_and_the_next_call_uses_it(trader, key, old, exchange):
    assert client_for_key(key).fetch_balances()  # a cached client holding the old credentials
    old_rotate_by = key.rotate_by
    new_api_key, new_secret = exchange.new_key()
    perms = rotate(key, trader, new_api_key, new_secret)
    assert perms.read and perms.trade and not perms.moves_funds
    exchange.disable(old[0])  # the old key is dead on the exchange from now on

    key = fresh(key)
    assert client_for_key(key).fetch_balances()  # works: it signs with the new key
    creds = key_credentials(key_id=key.pk)
    assert (creds.api_key, creds.secret) == (new_api_key, new_secret)
    assert key.fingerprint == f"{new_api_key[:4]}…{new_api_key[-4:]}"
    assert key.rotated_at is not None and key.rotate_by > old_rotate_by
    assert key.verified_scopes["trade"] is True and key.status == ExchangeKey.Status.ACTIVE
    # No cached client holds the replaced credentials.
    entries = [k for k in connect._cache() if k[0] == str(key.pk)]
    assert len(entries) == 1 and connect._cache()[entries[0]].apiKey == new_api_key
    event = AuditEvent.objects.get(event_type="key.rotated")
    assert event.actor_id == trader.pk and event.detail["fingerprint"] == key.fingerprint
    assert old[0] not in str(event.detail) and new_secret not in str(event.detail)
    reminder = Notification.objects.get(kind="key_rotated")
    assert "Delete the old key" in reminder.body


def test_a_wrong_secret_leaves_the_old_key_in_place_and_working(trader, key, old, exchange):
    new_api_key, new_secret = exchange.new_key()
    with pytest.raises(ValidationError) as caught:
        rotate(key, trader, new_api_key, new_secret[::-1])  # -1022 bad signature
    message = " ".join(caught.value.messages)
    assert "rejected the new key" in message and "unchanged and still in use" in message
    creds = key_credentials(key_id=key.pk)
    assert (creds.api_key, creds.secret) == old
    assert fresh(key).status == ExchangeKey.Status.ACTIVE
    assert client_for_key(fresh(key)).fetch_balances()
    failed = AuditEvent.objects.get(event_type="key.rotation_failed")
    assert failed.outcome == "failure" and failed.detail["reason"] == "KeyRejected"
    assert new_secret not in str(failed.detail)


def test_an_unknown_new_key_is_refused(trader, key, old, exchange):
    _, secret = exchange.new_key()
    with pytest.raises(ValidationError, match="rejected the new key"):
        rotate(key, trader, "B" * 64, secret)  # -2015
    assert key_credentials(key_id=key.pk).api_key == old[0]


def test_a_new_key_that_can_withdraw_is_refused(trader, key, old, exchange):
    with pytest.raises(ValidationError, match="withdraw or transfer"):
        rotate(key, trader, *exchange.new_key(withdraw=True))
    assert key_credentials(key_id=key.pk).api_key == old[0]


def test_a_trading_key_cannot_be_replaced_by_a_read_only_one(trader, key, old, exchange):
    with pytest.raises(ValidationError, match="cannot trade"):
        rotate(key, trader, *exchange.new_key(trade=False))
    assert key_credentials(key_id=key.pk).api_key == old[0]


def test_a_key_of_another_exchange_account_is_refused(trader, key, old, exchange):
    other = make_user("mallory")
    with pytest.raises(ValidationError, match="different exchange account"):
        rotate(key, trader, *exchange.new_key(user=other))
    assert key_credentials(key_id=key.pk).api_key == old[0]


def test_pasting_the_current_key_again_is_refused(trader, key, old):
    with pytest.raises(ValidationError, match="already has"):
        rotate(key, trader, *old)


def test_an_order_queued_before_the_rotation_is_sent_once_with_the_new_key(
    trader, key, old, exchange
):
    pin_market("BTCUSDT", "50000")
    before = order_place(
        user=trader,
        key=key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="49000",
    )
    rotate(key, trader, *exchange.new_key())
    exchange.disable(old[0])
    assert drive(before.pk) == []
    after = order_place(
        user=trader,
        key=fresh(key),
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.01",
        price="48000",
    )
    assert drive(after.pk) == []
    for intent in (before, after):
        intent.refresh_from_db()
        assert intent.status == OrderIntent.Status.OPEN
        assert exchange_orders(intent).count() == 1


# --- the page -------------------------------------------------------------------------------


def test_the_rotate_page_swaps_the_key_and_says_to_delete_the_old_one(
    client, trader, key, exchange
):
    client.force_login(trader)
    url = reverse("trading:key_rotate", args=[key.pk])
    assert "Check and rotate" in client.get(url).content.decode()
    new_api_key, new_secret = exchange.new_key()
    response = client.post(url, {"api_key": new_api_key, "secret": new_secret}, follow=True)
    page = response.content.decode()
    assert "Delete the old key" in page and new_secret not in page and new_api_key not in page
    assert key_credentials(key_id=key.pk).api_key == new_api_key


def test_a_failed_rotation_shows_why_on_the_page(client, trader, key, old, exchange):
    client.force_login(trader)
    new_api_key, new_secret = exchange.new_key()
    url = reverse("trading:key_rotate", args=[key.pk])
    wrong = ("y" if new_secret[0] == "x" else "x") + new_secret[1:]  # one character off
    page = client.post(url, {"api_key": new_api_key, "secret": wrong})
    body = page.content.decode()
    assert page.status_code == 200 and "unchanged and still in use" in body
    assert new_secret[1:] not in body
    assert key_credentials(key_id=key.pk).api_key == old[0]


def test_an_outsider_gets_404_on_rotate_and_snooze(client, key, bob):
    client.force_login(make_trader(bob))
    assert client.get(reverse("trading:key_rotate", args=[key.pk])).status_code == 404
    assert client.post(reverse("trading:key_snooze", args=[key.pk])).status_code == 404
    assert AuditEvent.objects.filter(event_type="access.denied").count() == 2

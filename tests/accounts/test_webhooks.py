"""Outgoing webhooks: signed JSON to a real local HTTP server, retried on failure."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import AuditEvent, Notification, NotificationWebhook
from accounts.services.notifications import notify
from accounts.services.webhooks import (
    WebhookTemporaryError,
    webhook_deliver,
    webhook_secret_rotate,
    webhook_set_url,
)
from accounts.tasks import notification_webhook_task

pytestmark = pytest.mark.django_db


class Receiver:
    """A local webhook receiver that answers with scripted HTTP statuses (then 200)."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on 127.0.0.1
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def webhook(alice, receiver):
    webhook_set_url(user=alice, url=receiver.url)
    return webhook_secret_rotate(user=alice)


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does: recompute the HMAC over the raw body and compare."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-keytrade-signature"])


def test_a_notification_is_posted_signed_to_the_users_webhook(
    alice, webhook, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    secret = webhook
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(
            user=alice,
            kind=Notification.Kind.KEY_EXPIRED,
            title="Key expired",
            body="b",
            link="/keys/x/",
        )
    [(headers, body)] = receiver.requests
    assert verify(secret, headers, body)
    assert not verify("whsec_wrong", headers, body)
    payload = json.loads(body)
    assert payload["id"] == str(notification.pk)
    assert payload["kind"] == "key_expired" and payload["title"] == "Key expired"
    assert payload["link"] == "http://127.0.0.1:8000/keys/x/"
    assert str(payload["timestamp"]) == headers["x-keytrade-timestamp"]
    assert headers["content-type"] == "application/json"
    assert NotificationWebhook.objects.get(user=alice).last_status == "HTTP 200"


def test_a_failing_receiver_is_retried_with_backoff_until_it_accepts(alice, webhook, receiver):
    receiver.statuses = [500, 503]
    notification = notify(user=alice, kind=Notification.Kind.BOT_ERROR, title="t", body="")
    result = notification_webhook_task.apply(args=[str(notification.pk)])
    assert result.successful()
    assert len(receiver.requests) == 3
    assert all(verify(webhook, h, b) for h, b in receiver.requests)
    task = notification_webhook_task
    assert task.autoretry_for == (WebhookTemporaryError,)
    assert task.max_retries == 8 and task.retry_backoff == 10 and task.retry_backoff_max == 1800


def test_retries_stop_after_the_bound(alice, webhook, receiver):
    receiver.statuses = [500] * 20
    notification = notify(user=alice, kind=Notification.Kind.BOT_ERROR, title="t", body="")
    result = notification_webhook_task.apply(args=[str(notification.pk)])
    assert result.failed()
    assert len(receiver.requests) == 1 + notification_webhook_task.max_retries


def test_a_client_error_is_not_retried(alice, webhook, receiver):
    receiver.statuses = [404]
    notification = notify(user=alice, kind=Notification.Kind.BOT_ERROR, title="t", body="")
    assert notification_webhook_task.apply(args=[str(notification.pk)]).successful()
    assert len(receiver.requests) == 1
    assert NotificationWebhook.objects.get(user=alice).last_status == "HTTP 404"


def test_private_addresses_are_refused_unless_allowed(alice, webhook, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    notification = notify(user=alice, kind=Notification.Kind.BOT_ERROR, title="t", body="")
    assert webhook_deliver(notification_id=notification.pk) is None
    assert receiver.requests == []
    assert "non-public address" in NotificationWebhook.objects.get(user=alice).last_status


def test_no_webhook_no_request(
    alice, bob, webhook, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=bob, kind=Notification.Kind.BOT_ERROR, title="t", body="")
    assert receiver.requests == []


def test_the_secret_is_stored_encrypted_and_rotating_it_changes_the_signature(
    alice, webhook, receiver
):
    first = webhook
    table = NotificationWebhook._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {table}")  # noqa: S608
        raw = bytes(cursor.fetchone()[0])
    assert first.encode() not in raw
    second = webhook_secret_rotate(user=alice)
    assert second != first
    notification = notify(user=alice, kind=Notification.Kind.BOT_ERROR, title="t", body="")
    webhook_deliver(notification_id=notification.pk)
    [(headers, body)] = receiver.requests
    assert verify(second, headers, body) and not verify(first, headers, body)
    assert AuditEvent.objects.filter(event_type="webhook.secret_rotated").count() == 2


# --- the settings page ------------------------------------------------------------------------


def test_the_settings_page_saves_the_url_and_shows_a_new_secret_once(client, alice, receiver):
    client.force_login(alice)
    url = reverse("accounts:webhook_settings")
    response = client.post(url, {"action": "save", "url": receiver.url})
    assert response.status_code == 302
    assert NotificationWebhook.objects.get(user=alice).url == receiver.url
    page = client.post(url, {"action": "rotate_secret"})
    secret = page.context["new_secret"]
    assert secret.startswith("whsec_") and secret in page.content.decode()
    assert "no-store" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]
    again = client.get(url).content.decode()
    assert secret not in again and "never shown again" in again


def test_the_settings_page_sends_a_test_event(
    client, alice, webhook, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:webhook_settings"), {"action": "test"})
    [(headers, body)] = receiver.requests
    assert json.loads(body)["kind"] == "webhook_test"
    assert verify(webhook, headers, body)


def test_a_url_that_is_not_http_is_refused(client, alice):
    client.force_login(alice)
    page = client.post(
        reverse("accounts:webhook_settings"), {"action": "save", "url": "ftp://x.example/"}
    )
    assert page.status_code == 200 and "http" in page.content.decode()
    assert not NotificationWebhook.objects.filter(user=alice).exclude(url="").exists()


def test_the_webhook_secret_survives_an_encryption_key_rotation(alice, settings):
    import os

    from accounts.services.rotation import vault_rotate

    webhook_set_url(user=alice, url="https://hooks.example/keytrade")
    secret = webhook_secret_rotate(user=alice)
    settings.OLD_SECRET_KEY, settings.OLD_CRYPTOGRAPHY_KEY = (
        os.environ["SECRET_KEY"],
        os.environ["CRYPTOGRAPHY_KEY"],
    )
    settings.SECRET_KEY = "rotated-secret-key-" + "w" * 40
    settings.CRYPTOGRAPHY_KEY = "3q1Zb8nW0uXr5yT2pL7kD4sF9gH6jC1aV0eM8oN2iQ4="
    from accounts.encryption import old_keys

    report = vault_rotate(old=old_keys())
    assert report.reencrypted >= 1 and not report.unreadable
    assert NotificationWebhook.objects.get(user=alice).secret == secret

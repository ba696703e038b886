"""Outgoing webhooks: per-user URL and signing secret, signed JSON delivery.

Each delivery POSTs the notification as JSON. The raw body is signed with HMAC-SHA256 under the
user's secret and sent as `X-Keytrade-Signature: sha256=<hex>`; the body carries `timestamp`,
also sent as `X-Keytrade-Timestamp`, so a receiver can refuse replays of old deliveries.
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.encryption import current_keys
from accounts.models import Notification, NotificationWebhook
from accounts.services.audit import audit_record
from keytrade.logging import register_secret

SIGNATURE_HEADER = "X-Keytrade-Signature"
TIMESTAMP_HEADER = "X-Keytrade-Timestamp"
_RETRY_STATUSES = {408, 425, 429}


class WebhookTemporaryError(Exception):
    """The receiver did not take the delivery (timeout, connection error, 5xx): retry later."""


class WebhookRefused(Exception):
    """The delivery cannot succeed as configured (bad address, 4xx): do not retry."""


def webhook_for_user(*, user) -> NotificationWebhook:
    """Return the user's webhook settings row (unsaved and empty when none exists)."""
    webhook = NotificationWebhook.objects.defer("secret").filter(user=user).first()
    return webhook or NotificationWebhook(user=user)


def _validate_url(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Enter an http:// or https:// address."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Put no user name or password in the address."})
    return url


def webhook_set_url(*, user, url: str, request=None) -> NotificationWebhook:
    """Save (or clear) the user's webhook URL; audit it."""
    url = _validate_url(url)
    webhook = webhook_for_user(user=user)
    webhook.url = url
    webhook.full_clean(exclude=["user", "secret"])
    with transaction.atomic():
        if webhook.pk:
            webhook.save(update_fields=["url", "updated_at"])
        else:
            webhook.save(force_insert=True)
        audit_record(
            event_type="webhook.updated",
            actor=user,
            request=request,
            target=webhook,
            detail={"host": urlsplit(url).hostname or "", "enabled": bool(url)},
        )
    return webhook


@sensitive_variables("secret")
def webhook_secret_rotate(*, user, request=None) -> str:
    """Generate a new signing secret, store it encrypted and return it (shown to the user once)."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = webhook_for_user(user=user)
    webhook.secret = secret
    webhook.secret_created_at = timezone.now()
    webhook.enc_key_version = current_keys().version
    with transaction.atomic():
        if webhook.pk:
            webhook.save(update_fields=["secret", "secret_created_at", "enc_key_version"])
        else:
            webhook.save(force_insert=True)
        audit_record(
            event_type="webhook.secret_rotated", actor=user, request=request, target=webhook
        )
    register_secret(secret)
    return secret


def webhook_send_test(*, user) -> Notification:
    """Queue a test event to the user's webhook (no email); it also lists in-app."""
    from accounts.tasks import notification_webhook_task

    notification = Notification.objects.create(
        user=user,
        kind=Notification.Kind.WEBHOOK_TEST,
        title="Webhook test",
        body="This is a test event from keytrade. If your receiver got it, the webhook works.",
        link="/settings/webhook/",
        read_at=timezone.now(),
    )
    notification_webhook_task.delay_on_commit(str(notification.pk))
    return notification


def webhook_signature(*, secret: str, body: bytes) -> str:
    """Return the signature header value for a raw body: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _payload(notification: Notification, timestamp: int) -> bytes:
    link = notification.link
    if link and "://" not in link:
        link = settings.SITE_URL.rstrip("/") + link
    data = {
        "id": str(notification.pk),
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": link,
        "created_at": notification.created_at.isoformat(),
        "user": notification.user.get_username(),
        "timestamp": timestamp,
    }
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def _check_address(url: str) -> None:
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise WebhookTemporaryError(f"cannot resolve {parts.hostname}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise WebhookRefused(
                f"{parts.hostname} resolves to a non-public address; an administrator can allow "
                "that with WEBHOOK_ALLOW_PRIVATE_ADDRESSES."
            )


def _record(webhook_id, status: str) -> None:
    NotificationWebhook.objects.filter(pk=webhook_id).update(
        last_attempt_at=timezone.now(), last_status=status[:200]
    )


@sensitive_variables("secret", "webhook")
def webhook_deliver(*, notification_id) -> int | None:
    """POST one notification to its user's webhook; return the HTTP status, None if not set.

    Raises WebhookTemporaryError when the receiver should be tried again later.
    """
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None:
        return None
    webhook = NotificationWebhook.objects.filter(user_id=notification.user_id).first()
    if webhook is None or not webhook.is_active:
        return None
    secret = webhook.secret
    register_secret(secret)
    timestamp = int(timezone.now().timestamp())
    body = _payload(notification, timestamp)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "keytrade-webhook/1",
        SIGNATURE_HEADER: webhook_signature(secret=secret, body=body),
        TIMESTAMP_HEADER: str(timestamp),
    }
    try:
        _check_address(webhook.url)
        response = requests.post(
            webhook.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except WebhookRefused as exc:
        _record(webhook.pk, f"refused: {exc}")
        return None
    except (requests.RequestException, WebhookTemporaryError) as exc:
        _record(webhook.pk, f"failed: {type(exc).__name__}")
        raise WebhookTemporaryError(f"webhook delivery failed: {type(exc).__name__}") from None
    _record(webhook.pk, f"HTTP {response.status_code}")
    if response.status_code >= 500 or response.status_code in _RETRY_STATUSES:
        raise WebhookTemporaryError(f"webhook receiver answered HTTP {response.status_code}")
    return response.status_code

"""What the exchange says about a key: verification of its permissions, and disabling it."""

from __future__ import annotations

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import ExchangeKey, Notification
from accounts.services.audit import audit_record
from accounts.services.keys import key_disable, key_expired_handle
from accounts.services.notifications import notify
from trading.exchange import errors
from trading.exchange.connect import client_for_key
from trading.exchange.types import KeyPermissions
from trading.key_queries import keys_without_secrets

logger = logging.getLogger("trading.keys")


def key_reject(
    *,
    key: ExchangeKey,
    reason: str,
    detail: str = "",
    kind: str = Notification.Kind.KEY_REJECTED,
) -> bool:
    """Disable a key the exchange rejected (bad key, IP or permission), recording why.

    A key past the expiry the exchange reported is handled as expired instead. The owner is
    notified (kind) when this call disabled the key.
    """
    if key.exchange_expiry_passed:
        return key_expired_handle(key=key)
    was_active = key.status == ExchangeKey.Status.ACTIVE
    with transaction.atomic():
        key_disable(key=key, reason=reason)
        ExchangeKey.objects.filter(pk=key.pk).update(last_error=reason[:300])
    changed = was_active and key.status == ExchangeKey.Status.DISABLED
    if changed:
        logger.warning("key disabled", extra={"key": str(key.pk), "error": detail[:300]})
        _notify(key, kind, f"Key “{key.label}” disabled", reason)
    return changed


def _notify(key: ExchangeKey, kind: str, title: str, reason: str) -> None:
    notify(
        user=key.user,
        kind=kind,
        title=title,
        body=f"Your {key.exchange} key “{key.label}” ({key.fingerprint}): {reason}",
        link=reverse("trading:key_detail", args=[key.pk]),
        dedupe_key=f"{kind}:{key.pk}",
    )


def key_record_error(*, key: ExchangeKey, message: str) -> None:
    """Remember the last exchange error for the key's health panel."""
    ExchangeKey.objects.filter(pk=key.pk).update(last_error=message[:300])


def key_verify(*, key_id) -> KeyPermissions:
    """Check a key against its exchange: read access, reported permissions, IP restriction.

    A key the exchange reports as able to withdraw or transfer is disabled at once.
    """
    key = keys_without_secrets().get(pk=key_id)
    client = client_for_key(key)
    try:
        if key.scope_read:
            client.fetch_balances()
        perms = client.key_permissions()
    except errors.KeyRejected as exc:
        key_reject(key=key, reason=exc.user_message, detail=exc.detail)
        raise
    except errors.ExchangeError as exc:
        key_record_error(key=key, message=exc.user_message)
        if not exc.retryable:
            _notify(
                key,
                Notification.Kind.KEY_VERIFICATION_FAILED,
                f"Could not verify key “{key.label}”",
                exc.user_message,
            )
        raise
    now = timezone.now()
    with transaction.atomic():
        ExchangeKey.objects.filter(pk=key.pk).update(
            verified_scopes=perms.as_scopes(),
            verified_at=now,
            verified_ip_restricted=perms.ip_restricted,
            exchange_expires_at=perms.expires_at,
            last_error="",
            last_used_at=now,
        )
        audit_record(
            event_type="key.verified",
            target=key,
            detail={**perms.as_scopes(), "ip_restricted": perms.ip_restricted},
        )
    if perms.expires_at is not None and perms.expires_at <= now:
        key.exchange_expires_at = perms.expires_at
        key_expired_handle(key=key, expired_at=perms.expires_at)
    elif perms.moves_funds:
        key_reject(
            key=key,
            reason="The exchange says this key can withdraw or transfer funds. keytrade only "
            "accepts keys without those permissions: create a new key without them.",
            kind=Notification.Kind.KEY_WITHDRAW_ENABLED,
        )
    return perms


def key_scope_mismatches(key: ExchangeKey) -> list[str]:
    """Return plain sentences for every declared scope the exchange does not confirm."""
    verified = key.verified_scopes or {}
    out = []
    for scope, declared in (("read", key.scope_read), ("trade", key.scope_trade)):
        if declared and verified.get(scope) is False:
            out.append(f"Declared {scope}, but the exchange says this key cannot {scope}.")
    for scope in ("withdraw", "transfer"):
        if verified.get(scope):
            out.append(f"The exchange says this key can {scope}: keytrade refuses such keys.")
    return out

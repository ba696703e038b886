"""Rotating a key's credentials: check the new key with the exchange first, then swap it in.

The new credentials live only in this call's variables until accounts' key_rotate encrypts
them; they are never saved, cached or queued before the exchange has accepted them. A refusal
at any step leaves the stored key untouched, so bots keep using the old one.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import AuditEvent, ExchangeKey
from accounts.services.audit import audit_record
from accounts.services.keys import KeyUndecryptable, key_credentials_check, key_rotate
from accounts.validators import fingerprint_of
from trading.exchange import errors
from trading.exchange.client import Scopes
from trading.exchange.connect import client_for_credentials, client_for_key, forget_key_clients
from trading.exchange.types import KeyPermissions

logger = logging.getLogger("trading.keys")
UNCHANGED = "Your current key is unchanged and still in use."


def _exchange_failure(exc: errors.ExchangeError) -> str:
    if isinstance(exc, errors.KeyRejected):
        return (
            "The exchange rejected the new key. Check that you copied the API key and secret "
            "exactly, that the key is enabled, and that its IP whitelist allows this server."
        )
    return f"Could not check the new key with the exchange: {exc.user_message}"


def _permission_problems(key: ExchangeKey, perms: KeyPermissions) -> list[str]:
    problems = []
    if perms.moves_funds:
        problems.append(
            "The new key can withdraw or transfer funds. keytrade only accepts keys without "
            "those permissions: create it again without them."
        )
    if perms.read is False:
        problems.append("The exchange says the new key cannot read the account.")
    if key.scope_trade and perms.trade is False:
        problems.append(
            "This key is used for trading, but the exchange says the new key cannot trade: "
            "enable spot trading for it on the exchange."
        )
    if perms.expires_at is not None and perms.expires_at <= timezone.now():
        problems.append("The exchange says the new key has already expired.")
    return problems


def _old_account_uid(key: ExchangeKey) -> str | None:
    """The account of the key being replaced, when it still works (expired keys do not)."""
    try:
        return client_for_key(key).account_uid()
    except (errors.ExchangeError, KeyUndecryptable):
        return None


@sensitive_variables("api_key", "secret", "passphrase", "client")
def _check_new_key(*, key: ExchangeKey, api_key: str, secret: str, passphrase: str):
    """Return the exchange's view of the new key; raise ValidationError if it will not do."""
    client = client_for_credentials(
        exchange=key.exchange,
        api_key=api_key,
        secret=secret,
        passphrase=passphrase,
        scopes=Scopes(read=True, trade=bool(key.scope_trade)),
    )
    try:
        new_uid = client.account_uid()  # proves read access with a signed request
        perms = client.key_permissions()
    except errors.ExchangeError as exc:
        raise _Refused(_exchange_failure(exc), reason=type(exc).__name__, code=exc.code) from None
    problems = _permission_problems(key, perms)
    old_uid = _old_account_uid(key) if new_uid is not None else None
    if old_uid is not None and old_uid != new_uid:
        problems.append(
            "The new key belongs to a different exchange account. Rotate with a key of the "
            "same account, or connect it as a new key."
        )
    if problems:
        raise _Refused(" ".join(problems), reason="permissions")
    return perms


class _Refused(Exception):
    def __init__(self, message: str, *, reason: str, code: str = ""):
        self.message, self.reason, self.code = message, reason, code
        super().__init__(message)


def _audit_refusal(key, actor, request, api_key: str, refused: _Refused) -> None:
    audit_record(
        event_type="key.rotation_failed",
        actor=actor,
        request=request,
        target=key,
        outcome=AuditEvent.Outcome.FAILURE,
        detail={
            "reason": refused.reason,
            "code": refused.code,
            "new_fingerprint": fingerprint_of(api_key),
        },
    )


@sensitive_variables("api_key", "secret", "passphrase")
def key_rotate_verified(
    *, key: ExchangeKey, api_key: str, secret: str, passphrase: str = "", actor, request=None
) -> KeyPermissions:
    """Verify new credentials with the exchange (read, scopes, no withdrawal), then swap them in.

    Raises ValidationError (saying the current key is unchanged) when the exchange refuses the
    new key or reports permissions keytrade does not accept.
    """
    key_credentials_check(api_key=api_key, secret=secret, passphrase=passphrase)
    try:
        perms = _check_new_key(key=key, api_key=api_key, secret=secret, passphrase=passphrase)
    except _Refused as refused:
        _audit_refusal(key, actor, request, api_key, refused)
        raise ValidationError(f"{refused.message} {UNCHANGED}") from None
    now = timezone.now()
    verified = {
        "verified_scopes": perms.as_scopes(),
        "verified_at": now,
        "verified_ip_restricted": perms.ip_restricted,
        "exchange_expires_at": perms.expires_at,
        "last_used_at": now,
    }
    with transaction.atomic():
        key_rotate(
            key=key,
            api_key=api_key,
            secret=secret,
            passphrase=passphrase,
            actor=actor,
            request=request,
        )
        ExchangeKey.objects.filter(pk=key.pk).update(**verified)
    for name, value in verified.items():
        setattr(key, name, value)
    forget_key_clients(key.pk)
    logger.info("key rotated", extra={"key": str(key.pk), "fingerprint": key.fingerprint})
    return perms

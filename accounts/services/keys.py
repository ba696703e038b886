"""Exchange keys: connect, update, disable, delete, and the one place credentials are decrypted."""

from dataclasses import dataclass, field
from datetime import timedelta

from allauth.mfa.utils import is_mfa_enabled
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.encryption import DecryptionError, api_key_digest, current_keys
from accounts.models import AuditEvent, ExchangeKey
from accounts.services.audit import audit_record
from accounts.validators import (
    API_KEY_MIN_LENGTH,
    fingerprint_of,
    normalize_ip_whitelist,
    validate_credential,
)
from keytrade.logging import register_secret

SECRET_FIELDS = ("api_key", "secret", "passphrase")
CONNECT_PERMISSION = "accounts.connect_keys"
UNDECRYPTABLE_REASON = (
    "keytrade can no longer decrypt this key's credentials (the server's encryption keys "
    "changed or the stored data is damaged), so nothing is sent to the exchange with it. "
    "Delete it and connect the key again."
)
_DUPLICATE_MESSAGE = "You already connected this API key for this exchange."


class KeyUndecryptable(Exception):
    """The key's credentials do not decrypt; it is marked undecryptable and must not be used."""

    def __init__(self, key_id):
        self.key_id = key_id
        super().__init__(f"exchange key {key_id} is undecryptable; nothing was sent")


@dataclass(frozen=True)
class Credentials:
    """Decrypted credentials for building one exchange client; never log or store them."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    passphrase: str = field(default="", repr=False)

    def __repr__(self) -> str:
        passphrase = "[hidden]" if self.passphrase else "[none]"
        return (
            f"Credentials(api_key={fingerprint_of(self.api_key)}, secret=[hidden], "
            f"passphrase={passphrase})"
        )

    __str__ = __repr__


@sensitive_variables("api_key", "secret", "passphrase")
def _credential_errors(*, api_key: str, secret: str, passphrase: str) -> dict:
    errors = {}
    for name, label, value, required in (
        ("api_key", "API key", api_key, True),
        ("secret", "secret", secret, True),
        ("passphrase", "passphrase", passphrase, False),
    ):
        try:
            validate_credential(value, label=label, required=required)
        except ValidationError as exc:
            errors[name] = exc
    if "api_key" not in errors and len(api_key) < API_KEY_MIN_LENGTH:
        errors["api_key"] = ValidationError(
            f"That API key is too short (fewer than {API_KEY_MIN_LENGTH} characters)."
        )
    return errors


def _scope_errors(
    *, user, scope_read, scope_trade, scope_withdraw, withdraw_confirmed, trade_was_on=False
) -> dict:
    errors = {}
    if not (scope_read or scope_trade or scope_withdraw):
        errors["scope_read"] = ValidationError("Choose at least one scope.")
    if scope_withdraw and not withdraw_confirmed:
        errors["scope_withdraw"] = ValidationError(
            "A key that can withdraw funds needs the confirmation typed exactly."
        )
    if scope_trade and not trade_was_on and not is_mfa_enabled(user):
        errors["scope_trade"] = ValidationError(
            "Turn on two-factor authentication before connecting a key that can trade."
        )
    return errors


def _whitelist_or_errors(ip_whitelist, errors: dict) -> list[str]:
    try:
        return normalize_ip_whitelist(ip_whitelist)
    except ValidationError as exc:
        errors["ip_whitelist"] = exc
        return []


def _scopes(key: ExchangeKey) -> list[str]:
    return [s for s in ("read", "trade", "withdraw") if getattr(key, f"scope_{s}")]


@sensitive_variables("api_key", "secret", "passphrase")
def key_connect(
    *,
    user,
    exchange: str,
    label: str,
    api_key: str,
    secret: str,
    passphrase: str = "",
    scope_read: bool,
    scope_trade: bool,
    scope_withdraw: bool,
    withdraw_confirmed: bool = False,
    ip_whitelist,
    rotation_period_days: int = 90,
    request=None,
) -> ExchangeKey:
    """Validate and store a new exchange key with its credentials encrypted; audit it."""
    if not user.has_perm(CONNECT_PERMISSION):
        raise PermissionDenied("Your role cannot connect exchange keys.")
    errors = _credential_errors(api_key=api_key, secret=secret, passphrase=passphrase)
    networks = _whitelist_or_errors(ip_whitelist, errors)
    errors |= _scope_errors(
        user=user,
        scope_read=scope_read,
        scope_trade=scope_trade,
        scope_withdraw=scope_withdraw,
        withdraw_confirmed=withdraw_confirmed,
    )
    if errors:
        raise ValidationError(errors)
    keys = current_keys()
    digest = api_key_digest(api_key, keys)
    if ExchangeKey.objects.filter(user=user, exchange=exchange, api_key_digest=digest).exists():
        raise ValidationError({"api_key": _DUPLICATE_MESSAGE})
    now = timezone.now()
    key = ExchangeKey(
        user=user,
        exchange=exchange,
        label=label.strip(),
        api_key=api_key,
        secret=secret,
        passphrase=passphrase,
        api_key_digest=digest,
        fingerprint=fingerprint_of(api_key),
        scope_read=scope_read,
        scope_trade=scope_trade,
        scope_withdraw=scope_withdraw,
        withdraw_confirmed=bool(scope_withdraw and withdraw_confirmed),
        ip_whitelist=networks,
        created_at=now,
        rotation_period_days=rotation_period_days,
        rotate_by=now + timedelta(days=rotation_period_days or 0),
        enc_key_version=keys.version,
    )
    key.full_clean()
    try:
        with transaction.atomic():
            key.save(force_insert=True)
            audit_record(
                event_type="key.connected",
                actor=user,
                request=request,
                target=key,
                detail={
                    "exchange": exchange,
                    "label": key.label,
                    "fingerprint": key.fingerprint,
                    "scopes": _scopes(key),
                    "ip_whitelist": networks,
                },
            )
    except IntegrityError:
        # Two submissions raced past the check above; the unique constraint decided.
        raise ValidationError({"api_key": _DUPLICATE_MESSAGE}) from None
    return key


_EDITABLE = (
    "label",
    "scope_read",
    "scope_trade",
    "scope_withdraw",
    "withdraw_confirmed",
    "ip_whitelist",
    "rotation_period_days",
    "rotate_by",
)


def key_update(
    *,
    key: ExchangeKey,
    actor,
    label: str,
    scope_read: bool,
    scope_trade: bool,
    scope_withdraw: bool,
    withdraw_confirmed: bool = False,
    ip_whitelist,
    rotation_period_days: int,
    request=None,
) -> ExchangeKey:
    """Change a key's label, scopes, IP whitelist or rotation period (never credentials)."""
    errors: dict = {}
    networks = _whitelist_or_errors(ip_whitelist, errors)
    errors |= _scope_errors(
        user=key.user,
        scope_read=scope_read,
        scope_trade=scope_trade,
        scope_withdraw=scope_withdraw,
        withdraw_confirmed=withdraw_confirmed or (key.scope_withdraw and key.withdraw_confirmed),
        trade_was_on=key.scope_trade,
    )
    if errors:
        raise ValidationError(errors)
    before = {name: getattr(key, name) for name in _EDITABLE}
    key.label = label.strip()
    key.scope_read, key.scope_trade = scope_read, scope_trade
    key.withdraw_confirmed = scope_withdraw and (withdraw_confirmed or key.withdraw_confirmed)
    key.scope_withdraw = scope_withdraw
    key.ip_whitelist = networks
    key.rotation_period_days = rotation_period_days
    key.rotate_by = key.created_at + timedelta(days=rotation_period_days or 0)
    # The credentials are deferred and must stay so: validate only what this service changes.
    key.full_clean(exclude=[f.name for f in key._meta.fields if f.name not in _EDITABLE])
    changed = {
        name: [str(before[name]), str(getattr(key, name))]
        for name in _EDITABLE
        if before[name] != getattr(key, name)
    }
    with transaction.atomic():
        key.save(update_fields=[*_EDITABLE, "updated_at"])
        audit_record(
            event_type="key.updated",
            actor=actor,
            request=request,
            target=key,
            detail={"changed": changed},
        )
    return key


def key_disable(*, key: ExchangeKey, reason: str, actor=None, request=None) -> ExchangeKey:
    """Stop an active key from being used, recording why; audit it."""
    reason = (reason or "Disabled.").strip()[:300]
    with transaction.atomic():
        changed = ExchangeKey.objects.filter(pk=key.pk, status=ExchangeKey.Status.ACTIVE).update(
            status=ExchangeKey.Status.DISABLED, status_reason=reason, updated_at=timezone.now()
        )
        if changed:
            key.status, key.status_reason = ExchangeKey.Status.DISABLED, reason
            audit_record(
                event_type="key.disabled",
                actor=actor,
                request=request,
                target=key,
                detail={"reason": reason},
            )
    return key


def key_delete(*, key: ExchangeKey, actor, request=None) -> None:
    """Delete a key and its encrypted credentials for good; audit it."""
    with transaction.atomic():
        audit_record(
            event_type="key.deleted",
            actor=actor,
            request=request,
            target=key,
            detail={"exchange": key.exchange, "label": key.label, "fingerprint": key.fingerprint},
        )
        ExchangeKey.objects.filter(pk=key.pk).delete()


def key_mark_used(*, key: ExchangeKey) -> None:
    """Record that the key was just used to talk to its exchange."""
    ExchangeKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())


def _mark_undecryptable(key_id, error: str) -> None:
    with transaction.atomic():
        changed = (
            ExchangeKey.objects.filter(pk=key_id)
            .exclude(status=ExchangeKey.Status.UNDECRYPTABLE)
            .update(
                status=ExchangeKey.Status.UNDECRYPTABLE,
                status_reason=UNDECRYPTABLE_REASON,
                updated_at=timezone.now(),
            )
        )
        if changed:
            audit_record(
                event_type="key.undecryptable",
                target_type=ExchangeKey._meta.label_lower,
                target_id=str(key_id),
                outcome=AuditEvent.Outcome.FAILURE,
                detail={"error": error},
            )


@sensitive_variables("row", "values")
def key_credentials(*, key_id) -> Credentials:
    """Decrypt a key's credentials for the exchange client; fail closed if they do not decrypt.

    The caller decides whether the key's status allows use; an undecryptable key always raises
    KeyUndecryptable, and any decryption failure marks the key so and audits it (committed
    with the caller's transaction, so call this outside one that will roll back).
    """
    status = ExchangeKey.objects.filter(pk=key_id).values_list("status", flat=True).first()
    if status is None:
        raise ExchangeKey.DoesNotExist(f"exchange key {key_id} does not exist")
    if status == ExchangeKey.Status.UNDECRYPTABLE:
        raise KeyUndecryptable(key_id)
    try:
        row = ExchangeKey.objects.only("id", *SECRET_FIELDS).get(pk=key_id)
        values = (row.api_key, row.secret, row.passphrase or "")
        if not all(isinstance(value, str) for value in values):
            raise DecryptionError("decrypted value is not text")
    except DecryptionError as exc:
        _mark_undecryptable(key_id, str(exc))
        raise KeyUndecryptable(key_id) from None
    for value in values:
        register_secret(value)
    return Credentials(*values)

"""Exchange keys: connect, update, disable, delete, and the one place credentials are decrypted."""

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from allauth.mfa.utils import is_mfa_enabled
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.encryption import DecryptionError, api_key_digest, current_keys
from accounts.models import KEY_EXPIRED_REASON, AuditEvent, ExchangeKey, Notification
from accounts.services.audit import audit_record
from accounts.services.key_reminders import REMINDER_RESET
from accounts.services.notifications import notify
from accounts.validators import (
    API_KEY_MIN_LENGTH,
    fingerprint_of,
    normalize_ip_whitelist,
    validate_credential,
)
from keytrade import rawsql
from keytrade.logging import register_secret

SECRET_FIELDS = ("api_key", "secret", "passphrase")
_CREDENTIAL_FIELDS = [ExchangeKey._meta.get_field(n) for n in ("status", *SECRET_FIELDS)]
_STATUS_FIELD, _SECRET_FIELDS = _CREDENTIAL_FIELDS[:1], _CREDENTIAL_FIELDS[1:]
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


@sensitive_variables("api_key", "secret", "passphrase")
def key_credentials_check(*, api_key: str, secret: str, passphrase: str = "") -> None:
    """Raise ValidationError when credentials are malformed (before anything is sent anywhere)."""
    errors = _credential_errors(api_key=api_key, secret=secret, passphrase=passphrase)
    if errors:
        raise ValidationError(errors)


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
    key.rotate_by = key.credentials_since + timedelta(days=rotation_period_days or 0)
    # The credentials are deferred and must stay so: validate only what this service changes.
    key.full_clean(exclude=[f.name for f in key._meta.fields if f.name not in _EDITABLE])
    changed = {
        name: [str(before[name]), str(getattr(key, name))]
        for name in _EDITABLE
        if before[name] != getattr(key, name)
    }
    update_fields = [*_EDITABLE, "updated_at"]
    if before["rotate_by"] != key.rotate_by:
        # A new rotate-by date starts a new reminder cycle (and a fresh snooze).
        for name, value in REMINDER_RESET.items():
            setattr(key, name, value)
        update_fields += list(REMINDER_RESET)
    with transaction.atomic():
        key.save(update_fields=update_fields)
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


def _credentials_sql(conn) -> str:
    q = conn.ops.quote_name
    names = ", ".join(q(f.column) for f in _CREDENTIAL_FIELDS)
    return f"SELECT {names} FROM {rawsql.table(conn, ExchangeKey)} WHERE {q('id')} = %s"  # noqa: S608


def _credentials_raw(conn, key_id) -> tuple | None:
    # One query: the status and the ciphertexts as stored (nothing decrypted yet).
    key_id = rawsql.prep(conn, ExchangeKey._meta.pk, key_id)
    return rawsql.run(conn, _credentials_sql(conn), [key_id], fetch="one")


@sensitive_variables("row")
def key_credentials_row(*, key_id) -> tuple | None:
    """`ExchangeKey.objects.filter(pk=).values_list("status", *SECRET_FIELDS).first()`.

    Written out once: it runs for every order, and compiling it through the ORM cost more
    than the query. The ciphertexts are decrypted by the fields' own converters, as there.
    """
    conn = rawsql.db()
    row = _credentials_raw(conn, key_id)
    return None if row is None else tuple(rawsql.read(conn, _CREDENTIAL_FIELDS, row))


@dataclass(frozen=True)
class SealedCredentials:
    """A key's credentials as stored (encrypted), with a digest that identifies them.

    The digest covers the ciphertexts and the vault keys in force when they were read: equal
    digests mean the same stored secrets that decrypt the same way, so a caller that already
    holds a client built from them (trading.exchange.connect) needs no decryption at all.
    Rotating the key, re-encrypting it, tampering with it or changing the server's keys
    changes the digest.
    """

    key_id: object
    digest: str
    _row: tuple = field(repr=False)

    def __repr__(self) -> str:
        return f"SealedCredentials(key_id={self.key_id}, digest={self.digest[:12]}…)"


def _sealed_digest(row: tuple) -> str:
    keys = current_keys()
    digest = hashlib.sha256(b"keytrade.sealed-credentials")
    for part in (keys.signing_key, keys.aes_key, *row[1:]):
        part = b"" if part is None else part.encode() if isinstance(part, str) else bytes(part)
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def key_credentials_sealed(*, key_id) -> SealedCredentials:
    """Read a key's status and ciphertexts in one query, decrypting nothing.

    Raises KeyUndecryptable for a key already marked so, ExchangeKey.DoesNotExist for none.
    The key's other statuses are the caller's decision, as for key_credentials.
    """
    row = _credentials_raw(rawsql.db(), key_id)
    if row is None:
        raise ExchangeKey.DoesNotExist(f"exchange key {key_id} does not exist")
    return key_credentials_sealed_from(key_id=key_id, row=row)


# The columns of a key that key_credentials_sealed_from takes, in this order.
SEALED_FIELDS = tuple(f.name for f in _CREDENTIAL_FIELDS)


def key_credentials_sealed_from(*, key_id, row: tuple) -> SealedCredentials:
    """key_credentials_sealed for a row the caller read itself: the key's SEALED_FIELDS as
    stored (raw database values, nothing converted or decrypted), e.g. joined to a query it
    runs anyway. Raises KeyUndecryptable for a key already marked so."""
    status = rawsql.read(rawsql.db(), _STATUS_FIELD, row[:1])[0]
    if status == ExchangeKey.Status.UNDECRYPTABLE:
        raise KeyUndecryptable(key_id)
    return SealedCredentials(key_id=key_id, digest=_sealed_digest(row), _row=row)


@sensitive_variables("values")
def key_credentials_unseal(sealed: SealedCredentials) -> Credentials:
    """Decrypt credentials read by key_credentials_sealed; fail closed as key_credentials does."""
    conn = rawsql.db()
    try:
        values = rawsql.read(conn, _SECRET_FIELDS, sealed._row[1:])
        values = (values[0], values[1], values[2] or "")
        if not all(isinstance(value, str) for value in values):
            raise DecryptionError("decrypted value is not text")
    except DecryptionError as exc:
        _mark_undecryptable(sealed.key_id, str(exc))  # no-op (and no audit) if already marked
        raise KeyUndecryptable(sealed.key_id) from None
    for value in values:
        register_secret(value)
    return Credentials(*values)


def key_credentials(*, key_id) -> Credentials:
    """Decrypt a key's credentials for the exchange client; fail closed if they do not decrypt.

    The caller decides whether the key's status allows use; an undecryptable key always raises
    KeyUndecryptable, and any decryption failure marks the key so and audits it (committed
    with the caller's transaction, so call this outside one that will roll back).
    """
    return key_credentials_unseal(key_credentials_sealed(key_id=key_id))


def _rotation_errors(*, key: ExchangeKey, digest: str) -> dict:
    if key.status == ExchangeKey.Status.REVOKED:
        return {None: ValidationError("A revoked key cannot be rotated; connect a new key.")}
    if key.scope_trade and not is_mfa_enabled(key.user):
        # As for connecting: new trading credentials need two-factor on the account.
        return {
            None: ValidationError(
                "Turn on two-factor authentication before rotating a key that can trade."
            )
        }
    if digest == key.api_key_digest:
        return {
            "api_key": ValidationError(
                "That is the key keytrade already has. Create a new key on the exchange and "
                "paste that one."
            )
        }
    others = ExchangeKey.objects.filter(user=key.user, exchange=key.exchange, api_key_digest=digest)
    if others.exclude(pk=key.pk).exists():
        return {"api_key": ValidationError("That key is already connected as another key.")}
    return {}


@sensitive_variables("api_key", "secret", "passphrase", "values")
def key_rotate(
    *, key: ExchangeKey, api_key: str, secret: str, passphrase: str = "", actor, request=None
) -> ExchangeKey:
    """Swap new credentials into a key in one transaction, overwriting the old ones; audit it.

    The caller verifies the new credentials with the exchange first (trading.services.keys).
    The rotate-by date restarts; an expired or undecryptable key becomes active again.
    """
    if actor is not None and not actor.has_perm(CONNECT_PERMISSION):
        raise PermissionDenied("Your role cannot change exchange keys.")
    key_credentials_check(api_key=api_key, secret=secret, passphrase=passphrase)
    keys = current_keys()
    digest = api_key_digest(api_key, keys)
    errors = _rotation_errors(key=key, digest=digest)
    if errors:
        raise ValidationError(errors.pop(None, None) or errors)
    now = timezone.now()
    old_fingerprint = key.fingerprint
    values = {
        "api_key": api_key,
        "secret": secret,
        "passphrase": passphrase,
        "api_key_digest": digest,
        "fingerprint": fingerprint_of(api_key),
        "enc_key_version": keys.version,
        "rotated_at": now,
        "rotate_by": now + timedelta(days=key.rotation_period_days),
        "last_error": "",
        # What the exchange said about the old key no longer applies.
        "verified_scopes": None,
        "verified_at": None,
        "verified_ip_restricted": None,
        "exchange_expires_at": None,
        "updated_at": now,
        **REMINDER_RESET,
    }
    if key.status == ExchangeKey.Status.UNDECRYPTABLE or key.is_expired:
        values |= {"status": ExchangeKey.Status.ACTIVE, "status_reason": ""}
    try:
        with transaction.atomic():
            # Locked: two rotations of one key cannot interleave.
            ExchangeKey.objects.select_for_update().filter(pk=key.pk).values("pk").get()
            ExchangeKey.objects.filter(pk=key.pk).update(**values)
            _after_rotate(key, values, old_fingerprint, actor, request)
    except IntegrityError:
        raise ValidationError({"api_key": _DUPLICATE_MESSAGE}) from None
    return key


def _after_rotate(key, values, old_fingerprint, actor, request) -> None:
    for name, value in values.items():
        if name in SECRET_FIELDS:
            # Never keep plaintext on the instance: the credentials read as deferred again.
            key.__dict__.pop(name, None)
        else:
            setattr(key, name, value)
    audit_record(
        event_type="key.rotated",
        actor=actor,
        request=request,
        target=key,
        detail={
            "old_fingerprint": old_fingerprint,
            "fingerprint": key.fingerprint,
            "rotate_by": key.rotate_by.isoformat(),
        },
    )
    notify(
        user=key.user,
        kind=Notification.Kind.KEY_ROTATED,
        title=f"Key “{key.label}” rotated",
        body=(
            f"The credentials of your {key.exchange} key “{key.label}” were replaced: the new "
            f"API key is {key.fingerprint}. Delete the old key ({old_fingerprint}) on the "
            "exchange now; keytrade no longer holds it. If you did not do this, disable the "
            "key and change your password."
        ),
        link=reverse("trading:key_detail", args=[key.pk]),
    )


def key_expired_handle(*, key: ExchangeKey, expired_at=None) -> bool:
    """Disable a key the exchange reports expired, audit it and tell its owner.

    Bots and orders refuse any key that is not active, so nothing more is sent with it.
    Returns True when this call disabled the key.
    """
    now = timezone.now()
    updates = {
        "status": ExchangeKey.Status.DISABLED,
        "status_reason": KEY_EXPIRED_REASON,
        "last_error": "The exchange reports this key expired.",
        "updated_at": now,
    }
    if expired_at is not None:
        updates["exchange_expires_at"] = expired_at
    with transaction.atomic():
        changed = ExchangeKey.objects.filter(pk=key.pk, status=ExchangeKey.Status.ACTIVE).update(
            **updates
        )
        if not changed:
            return False
        for name, value in updates.items():
            setattr(key, name, value)
        audit_record(
            event_type="key.expired",
            target=key,
            outcome=AuditEvent.Outcome.FAILURE,
            detail={"expired_at": (expired_at or key.exchange_expires_at or now).isoformat()},
        )
        notify(
            user=key.user,
            kind=Notification.Kind.KEY_EXPIRED,
            title=f"Key “{key.label}” expired",
            body=(
                f"The exchange ({key.exchange}) no longer accepts your key “{key.label}” "
                f"({key.fingerprint}): it expired. keytrade disabled it, so nothing is sent with "
                "it and bots using it stop. Create a new key on the exchange and use “Rotate "
                "key” on the key's page to continue."
            ),
            link=reverse("trading:key_detail", args=[key.pk]),
            dedupe_key=f"key-expired:{key.pk}",
        )
    return True

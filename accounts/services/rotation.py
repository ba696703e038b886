"""Re-encrypting the vault after SECRET_KEY or CRYPTOGRAPHY_KEY changes."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models.functions import Cast

from accounts.encryption import (
    DecryptionError,
    VaultKeys,
    api_key_digest,
    current_keys,
    decrypt_value,
)
from accounts.mfa_adapter import mfa_decrypt, mfa_encrypt
from accounts.models import EncryptionCanary, ExchangeKey, NotificationWebhook
from accounts.services.audit import audit_record


@dataclass
class RotationReport:
    """What one run did: rows re-encrypted, rows already under the current keys, unreadable ids."""

    reencrypted: int = 0
    already_current: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.reencrypted + self.already_current + len(self.unreadable)


def _decrypt_all(raws, keys: VaultKeys | None):
    if keys is None:
        return None
    try:
        return [None if raw is None else decrypt_value(bytes(raw), keys) for raw in raws]
    except DecryptionError:
        return None


def _exchange_key_extra(plain: dict, keys: VaultKeys) -> dict:
    # The duplicate-detection digest is keyed from CRYPTOGRAPHY_KEY, so it moves with it.
    return {"api_key_digest": api_key_digest(plain["api_key"], keys)}


# (model, encrypted fields, extra columns to recompute from the plaintext)
_TARGETS = (
    (EncryptionCanary, ("value",), None),
    (ExchangeKey, ("api_key", "secret", "passphrase"), _exchange_key_extra),
    (NotificationWebhook, ("secret",), None),
)


def _rotate_batch(model, fields, extra, pks, old, new, report) -> None:
    raw_names = {f"raw_{name}": Cast(name, models.BinaryField()) for name in fields}
    with transaction.atomic():
        rows = (
            model.objects.select_for_update()
            .filter(pk__in=pks)
            .annotate(**raw_names)
            .values_list("pk", "enc_key_version", *raw_names)
        )
        for pk, version, *raws in rows:
            plain = _decrypt_all(raws, new)
            if plain is not None and version == new.version:
                report.already_current += 1
                continue
            plain = plain if plain is not None else _decrypt_all(raws, old)
            if plain is None:
                report.unreadable.append(str(pk))
                continue
            values = dict(zip(fields, plain, strict=True))
            # The fields encrypt with the keys in force, which are `new`.
            updates = {**values, "enc_key_version": new.version}
            if extra is not None:
                updates |= extra(values, new)
            model.objects.filter(pk=pk).update(**updates)
            report.reencrypted += 1


# Two-factor secrets in allauth's Authenticator.data: one string, or a list of strings.
_MFA_FIELDS = ("secret", "seed", "migrated_codes")


def _mfa_reencrypt(value, old: VaultKeys | None, new: VaultKeys):
    """Return (value under the new keys, whether it changed); DecryptionError if unreadable."""
    if isinstance(value, list):
        pairs = [_mfa_reencrypt(item, old, new) for item in value]
        return [item for item, _ in pairs], any(changed for _, changed in pairs)
    try:
        mfa_decrypt(value, new)
        return value, False
    except DecryptionError:
        if old is None:
            raise
        return mfa_encrypt(mfa_decrypt(value, old), new), True


def _rotate_mfa_batch(pks, old, new, report) -> None:
    from allauth.mfa.models import Authenticator

    with transaction.atomic():
        for authenticator in Authenticator.objects.select_for_update().filter(pk__in=pks):
            data, changed = dict(authenticator.data), False
            try:
                for name in _MFA_FIELDS:
                    if name in data:
                        data[name], moved = _mfa_reencrypt(data[name], old, new)
                        changed = changed or moved
            except DecryptionError:
                report.unreadable.append(f"mfa.Authenticator {authenticator.pk}")
                continue
            if changed:
                Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
                report.reencrypted += 1
            else:
                report.already_current += 1


def vault_rotate(
    *,
    old: VaultKeys | None,
    batch_size: int = 200,
    on_batch: Callable[[str, RotationReport], None] | None = None,
) -> RotationReport:
    """Re-encrypt every stored secret from the old keys to the current ones, batch by batch.

    Each batch commits on its own, so a run that dies part-way resumes where it stopped;
    rows that already decrypt with the current keys are left alone, so reruns change nothing.
    """
    new = current_keys()
    report = RotationReport()
    for model, fields, extra in _TARGETS:
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), batch_size):
            _rotate_batch(model, fields, extra, pks[start : start + batch_size], old, new, report)
            if on_batch is not None:
                on_batch(model._meta.label, report)
    from allauth.mfa.models import Authenticator

    pks = list(Authenticator.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), batch_size):
        _rotate_mfa_batch(pks[start : start + batch_size], old, new, report)
        if on_batch is not None:
            on_batch("mfa.Authenticator", report)
    if report.reencrypted:
        audit_record(
            event_type="vault.rotated",
            detail={
                "reencrypted": report.reencrypted,
                "already_current": report.already_current,
                "unreadable": len(report.unreadable),
                "enc_key_version": new.version,
            },
        )
    return report

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

"""The encryption canary: a known value that must decrypt with the configured keys."""

from django.db import DatabaseError, connections

from accounts.encryption import DecryptionError, current_keys
from accounts.models import EncryptionCanary
from keytrade.health import register_check

WRONG_KEYS = (
    "the encryption canary does not decrypt: SECRET_KEY or CRYPTOGRAPHY_KEY differs from the "
    "keys the vault was encrypted with (restore them, or run rotate_encryption_keys)"
)


def canary_ensure(*, using: str = "default") -> None:
    """Create the canary with the current keys unless it exists (run after every migrate)."""
    if EncryptionCanary.objects.using(using).filter(id=1).exists():
        return
    EncryptionCanary.objects.using(using).get_or_create(
        id=1,
        defaults={"value": EncryptionCanary.PLAINTEXT, "enc_key_version": current_keys().version},
    )


@register_check("encryption")
def check_encryption() -> tuple[bool, str]:
    """Report whether the canary decrypts with the keys in force."""
    try:
        value = EncryptionCanary.objects.values_list("value", flat=True).get(id=1)
    except EncryptionCanary.DoesNotExist:
        return False, "no encryption canary: run manage.py migrate"
    except DecryptionError:
        return False, WRONG_KEYS
    except DatabaseError as exc:
        return False, type(exc).__name__
    if value != EncryptionCanary.PLAINTEXT:
        return False, WRONG_KEYS
    return True, "ok"


def create_canary_after_migrate(sender, app_config=None, using="default", **kwargs):
    """post_migrate receiver: make sure the canary exists once accounts' tables do."""
    if app_config is None or app_config.label != "accounts":
        return
    # A migrate back to before the canary's migration leaves no table to write to.
    if EncryptionCanary._meta.db_table in connections[using].introspection.table_names():
        canary_ensure(using=using)

"""Paper API keys: created with a secret shown once, edited, disabled, deleted."""

import ipaddress
import secrets
import string

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from paper.models import PaperAccount, PaperApiKey

_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 64


def _random_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(KEY_LENGTH))


def ip_whitelist_normalize(entries) -> list[str]:
    """Parse addresses/CIDRs ("10.0.0.0/8", "127.0.0.1") into canonical networks."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValidationError(f"Not an IP address or network: {entry}") from None
    return sorted(set(networks))


def key_create(
    *,
    account: PaperAccount,
    label: str,
    can_trade: bool = False,
    can_withdraw: bool = False,
    ip_whitelist=(),
    expires_at=None,
) -> tuple[PaperApiKey, str]:
    """Create a key; return it with its secret, which is never shown again."""
    secret = _random_token()
    key = PaperApiKey(
        account=account,
        label=label or "API key",
        api_key=_random_token(),
        secret=secret,
        can_trade=can_trade,
        can_withdraw=can_withdraw,
        ip_whitelist=ip_whitelist_normalize(ip_whitelist),
        expires_at=expires_at,
        created_at=timezone.now(),
    )
    key.full_clean()
    with transaction.atomic():
        key.save()
    return key, secret


def key_update(
    *, key: PaperApiKey, label: str, can_trade: bool, can_withdraw: bool, ip_whitelist, expires_at
) -> PaperApiKey:
    """Change a key's label, permissions, IP restriction or expiry."""
    key.label = label or key.label
    key.can_trade = can_trade
    key.can_withdraw = can_withdraw
    key.ip_whitelist = ip_whitelist_normalize(ip_whitelist)
    key.expires_at = expires_at
    key.full_clean()
    key.save(update_fields=["label", "can_trade", "can_withdraw", "ip_whitelist", "expires_at"])
    return key


def key_set_enabled(*, key: PaperApiKey, enabled: bool) -> PaperApiKey:
    """Enable or disable a key (a disabled key answers -2015)."""
    key.is_enabled = enabled
    key.save(update_fields=["is_enabled"])
    return key


def key_delete(*, key: PaperApiKey) -> None:
    """Delete a key for good."""
    key.delete()

"""Validation of exchange-key input: credentials and IP whitelists.

Error messages never quote a credential: they name the field and the rule it broke.
"""

import ipaddress
import unicodedata
from collections.abc import Iterable

from django.core.exceptions import ValidationError

CREDENTIAL_MAX_LENGTH = 512
API_KEY_MIN_LENGTH = 8  # the fingerprint shows the first and last 4 characters
IP_WHITELIST_MAX = 50
WITHDRAW_CONFIRMATION_PHRASE = "I understand this key can withdraw funds"


def _bad_character(char: str) -> bool:
    # Whitespace, and Unicode's "other" categories: control, format, surrogate, private, unassigned.
    return char.isspace() or unicodedata.category(char).startswith("C")


def validate_credential(value: str, *, label: str, required: bool) -> None:
    """Raise ValidationError if a credential is missing, oversized or has stray characters."""
    if not value:
        if required:
            raise ValidationError(f"Enter the {label}.", code="required")
        return
    if len(value) > CREDENTIAL_MAX_LENGTH:
        raise ValidationError(
            f"The {label} is longer than {CREDENTIAL_MAX_LENGTH} characters; "
            f"check that you pasted only the {label}.",
            code="max_length",
        )
    if any(_bad_character(char) for char in value):
        raise ValidationError(
            f"The {label} contains spaces, line breaks or control characters; "
            "copy it again without them.",
            code="invalid_characters",
        )


def normalize_ip_whitelist(entries: Iterable[str] | str) -> list[str]:
    """Return the entries as normalised CIDR networks (deduplicated, in order), or raise."""
    if isinstance(entries, str):
        entries = entries.replace(",", " ").split()
    networks: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            network = str(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValidationError(
                f"“{entry[:60]}” is not an IPv4 or IPv6 address or network (CIDR), "
                "for example 203.0.113.7 or 2001:db8::/48.",
                code="invalid_cidr",
            ) from None
        if network not in networks:
            networks.append(network)
    if len(networks) > IP_WHITELIST_MAX:
        raise ValidationError(
            f"List at most {IP_WHITELIST_MAX} networks.", code="too_many_networks"
        )
    return networks


def fingerprint_of(api_key: str) -> str:
    """Return the display fingerprint: the first and last 4 characters of the API key."""
    return f"{api_key[:4]}…{api_key[-4:]}"

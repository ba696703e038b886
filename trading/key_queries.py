"""Querysets that load exchange keys without their encrypted columns.

Loading a credential column decrypts it. Outside `trading.exchange.connect` no code needs the
credentials, so every query that touches a key goes through these helpers; an undecryptable
key then still lists, audits and fails closed at the one place that builds a client.
"""

from accounts.models import ExchangeKey
from accounts.services.keys import SECRET_FIELDS

_DEFERRED_VIA_KEY = tuple(f"key__{name}" for name in SECRET_FIELDS)


def keys_without_secrets():
    """Return ExchangeKey rows with the credential columns deferred."""
    return ExchangeKey.objects.defer(*SECRET_FIELDS)


def with_key(queryset, *related: str):
    """Join `key` (and `related`) into a queryset, leaving the key's credentials unloaded."""
    return queryset.select_related("key", *related).defer(*_DEFERRED_VIA_KEY)

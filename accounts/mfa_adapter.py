"""allauth MFA adapter: TOTP secrets and recovery-code seeds are stored encrypted.

allauth keeps them in `Authenticator.data` and calls the adapter's `encrypt` / `decrypt`
around every read and write. keytrade encrypts them with the vault's keys (the same format
and keys as exchange secrets), so a stolen database alone yields no second factor.
`manage.py rotate_encryption_keys` re-encrypts them with the rest of the vault.
"""

from __future__ import annotations

import base64

from allauth.mfa.adapter import DefaultMFAAdapter

from accounts.encryption import DecryptionError, VaultKeys, decrypt_value, encrypt_value, old_keys

PREFIX = "vault1:"


def mfa_encrypt(text: str, keys: VaultKeys | None = None) -> str:
    """Encrypt a two-factor secret for storage in JSON (prefixed, URL-safe base64)."""
    return PREFIX + base64.urlsafe_b64encode(encrypt_value(text, keys)).decode("ascii")


def mfa_decrypt(stored: str, keys: VaultKeys | None = None) -> str:
    """Decrypt a stored two-factor secret with `keys` (default: the keys in force).

    Raises DecryptionError for anything that is not a value keytrade encrypted with those
    keys, including a plaintext secret: two-factor fails closed.
    """
    if not isinstance(stored, str) or not stored.startswith(PREFIX):
        raise DecryptionError("two-factor secret is not stored encrypted")
    try:
        token = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode("ascii"))
    except ValueError:
        raise DecryptionError("two-factor secret is damaged") from None
    value = decrypt_value(token, keys)
    if not isinstance(value, str):
        raise DecryptionError("two-factor secret is damaged")
    return value


def is_encrypted(stored) -> bool:
    return isinstance(stored, str) and stored.startswith(PREFIX)


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return mfa_encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return mfa_decrypt(encrypted_text)
        except DecryptionError:
            # Between a key change and `rotate_encryption_keys`, the old keys still read.
            old = old_keys()
            if old is None:
                raise
            return mfa_decrypt(encrypted_text, old)

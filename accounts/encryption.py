"""The vault's encryption keys: django-cryptography's format, with the keys in force right now.

django-cryptography encrypts a field value as `pickle.dumps(value)` with AES-CBC under a key
derived by PBKDF2 from `CRYPTOGRAPHY_KEY`, then authenticates it with HMAC-SHA256 keyed by
`SECRET_KEY`. Its fields capture both keys when the model class is built; the vault resolves
them from settings at each use instead, so `rotate_encryption_keys` and the tests can switch
keys without restarting, and so the same code can read under old keys and write under new ones.
"""

import hashlib
import hmac
import pickle
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django.utils.encoding import force_bytes
from django_cryptography.core.signing import FernetSigner
from django_cryptography.utils.crypto import FernetBytes

# The same derivation django-cryptography's CryptographyConf applies to CRYPTOGRAPHY_KEY.
_KDF_ITERATIONS = 30000
_DEFAULT_SALT = "django-cryptography"


class DecryptionError(Exception):
    """A stored value could not be decrypted with the keys given (wrong keys or damaged data)."""


@dataclass(frozen=True)
class VaultKeys:
    """A pair of keys that encrypts (AES key) and authenticates (SECRET_KEY) stored secrets."""

    signing_key: bytes = b""
    aes_key: bytes = b""

    def __repr__(self) -> str:
        return f"VaultKeys(version={self.version})"

    @property
    def version(self) -> int:
        """Identify this key pair with a stable 31-bit number (one-way; stored per row)."""
        tag = hmac.new(
            self.aes_key + self.signing_key, b"keytrade.enc-key-version", hashlib.sha256
        ).digest()
        return int.from_bytes(tag[:4], "big") & 0x7FFFFFFF

    def digest_key(self) -> bytes:
        """Return the HMAC key for API-key digests, derived from CRYPTOGRAPHY_KEY only."""
        return hmac.new(self.aes_key, b"keytrade.api-key-digest", hashlib.sha256).digest()


@lru_cache(maxsize=16)
def _derive_aes_key(material: bytes, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=_KDF_ITERATIONS)
    return kdf.derive(material)


def _aes_key_from_setting(value) -> bytes:
    # django-cryptography's AppConf replaces settings.CRYPTOGRAPHY_KEY with its derived bytes
    # at import; the environment (and override_settings) provide the raw string.
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    salt = force_bytes(getattr(settings, "CRYPTOGRAPHY_SALT", _DEFAULT_SALT))
    return _derive_aes_key(force_bytes(value), salt)


def vault_keys(*, secret_key, cryptography_key) -> VaultKeys:
    """Build the key pair for a SECRET_KEY and a CRYPTOGRAPHY_KEY (raw or already derived)."""
    return VaultKeys(
        signing_key=force_bytes(secret_key), aes_key=_aes_key_from_setting(cryptography_key)
    )


def current_keys() -> VaultKeys:
    """Return the keys in force now (settings.SECRET_KEY and settings.CRYPTOGRAPHY_KEY)."""
    return vault_keys(secret_key=settings.SECRET_KEY, cryptography_key=settings.CRYPTOGRAPHY_KEY)


def old_keys() -> VaultKeys | None:
    """Return the pre-rotation keys from OLD_SECRET_KEY / OLD_CRYPTOGRAPHY_KEY, if either is set."""
    old_secret = getattr(settings, "OLD_SECRET_KEY", "")
    old_crypto = getattr(settings, "OLD_CRYPTOGRAPHY_KEY", "")
    if not old_secret and not old_crypto:
        return None
    return vault_keys(
        secret_key=old_secret or settings.SECRET_KEY,
        cryptography_key=old_crypto or settings.CRYPTOGRAPHY_KEY,
    )


@lru_cache(maxsize=16)
def _fernet(keys: VaultKeys) -> FernetBytes:
    return FernetBytes(keys.aes_key, FernetSigner(keys.signing_key))


def encrypt_value(value, keys: VaultKeys | None = None) -> bytes:
    """Encrypt a value exactly as a django-cryptography field stores it."""
    return _fernet(keys or current_keys()).encrypt(pickle.dumps(value))


def decrypt_value(token: bytes, keys: VaultKeys | None = None):
    """Decrypt a stored value; raise DecryptionError (never the ciphertext) on any failure."""
    try:
        plain = _fernet(keys or current_keys()).decrypt(bytes(token))
        # The HMAC above has authenticated the payload, so unpickling it is safe.
        return pickle.loads(plain)  # noqa: S301
    except Exception as exc:
        # `from None`: the original message may quote stored bytes; its type is enough.
        raise DecryptionError(
            f"stored value does not decrypt with the configured keys ({type(exc).__name__})"
        ) from None


def api_key_digest(api_key: str, keys: VaultKeys | None = None) -> str:
    """Return the keyed HMAC-SHA256 of an API key, for duplicate detection without decrypting."""
    key = (keys or current_keys()).digest_key()
    return hmac.new(key, api_key.encode(), hashlib.sha256).hexdigest()

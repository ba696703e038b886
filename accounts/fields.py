"""The encrypted text field that holds exchange credentials."""

import base64
import binascii

from django.core.exceptions import ValidationError
from django.db import models
from django_cryptography.fields import EncryptedMixin

from accounts.encryption import DecryptionError, decrypt_value, encrypt_value

# Serialized (dumpdata) values carry this prefix. It contains a space, which no stored
# credential may contain, so a real secret is never mistaken for a serialized ciphertext.
SERIALIZED_PREFIX = "encrypted "


class VaultTextField(EncryptedMixin, models.TextField):
    """django-cryptography's `encrypt(models.TextField())`, keyed by the settings in force.

    It stores the library's exact format (a column written by `encrypt(models.TextField())`
    reads back here and the other way round) but reads SECRET_KEY and CRYPTOGRAPHY_KEY when it
    encrypts or decrypts rather than when the model class is built, and never serializes
    plaintext: dumpdata writes ciphertext.
    """

    base_class = models.TextField
    wasinstance = True

    def deconstruct(self):
        name, _path, args, kwargs = models.TextField.deconstruct(self)
        return name, f"{__name__}.{type(self).__name__}", args, kwargs

    def clone(self):
        name, path, args, kwargs = self.deconstruct()
        return type(self)(*args, **kwargs)

    def _dump(self, value) -> bytes:
        return encrypt_value(value)

    def _load(self, value: bytes):
        return decrypt_value(value)

    def value_to_string(self, obj) -> str:
        value = self.value_from_object(obj)
        if value is None:
            return None
        return SERIALIZED_PREFIX + base64.b64encode(self._dump(value)).decode("ascii")

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(SERIALIZED_PREFIX):
            try:
                return self._load(base64.b64decode(value[len(SERIALIZED_PREFIX) :]))
            except (binascii.Error, DecryptionError) as exc:
                raise ValidationError(
                    "This encrypted value does not decrypt with the configured keys."
                ) from exc
        return super().to_python(value)

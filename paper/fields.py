"""The paper exchange's encrypted key-secret column, which never serializes plaintext."""

import base64

from django.db import models
from django_cryptography.fields import encrypt

_EncryptedCharField = type(encrypt(models.CharField(max_length=1)))

# Serialized (dumpdata) values carry this prefix; a secret never contains a space.
SERIALIZED_PREFIX = "encrypted "


class SecretCharField(_EncryptedCharField):
    """`encrypt(models.CharField())` as stored, but dumpdata writes ciphertext, not the secret.

    django-cryptography serializes the decrypted value, so a `dumpdata` backup would hold
    every paper API secret in clear.
    """

    def clone(self):
        _name, _path, args, kwargs = self.deconstruct()
        return type(self)(*args, **kwargs)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        if value is None:
            return None
        return SERIALIZED_PREFIX + base64.b64encode(self._dump(value)).decode("ascii")

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(SERIALIZED_PREFIX):
            return self._load(base64.b64decode(value[len(SERIALIZED_PREFIX) :]))
        return super().to_python(value)

"""The paper exchange's encrypted key-secret column, which never serializes plaintext."""

import base64
import hashlib

from django.db import models
from django.utils.encoding import force_bytes
from django_cryptography.fields import encrypt

_EncryptedCharField = type(encrypt(models.CharField(max_length=1)))

# Serialized (dumpdata) values carry this prefix; a secret never contains a space.
SERIALIZED_PREFIX = "encrypted "
# Decrypted secrets kept per field and process (bench/paper_inprocess.py: decrypting was a
# tenth of a signed request's CPU); more distinct ciphertexts than this start it afresh.
DECRYPTED_CACHE_SIZE = 1024


class SecretCharField(_EncryptedCharField):
    """`encrypt(models.CharField())` as stored, but dumpdata writes ciphertext, not the secret.

    django-cryptography serializes the decrypted value, so a `dumpdata` backup would hold
    every paper API secret in clear.

    Every signed request reads its key's secret, so a process remembers what each stored
    ciphertext decrypts to, keyed by the ciphertext's SHA-256: the field's keys are fixed when
    it is created (django-cryptography takes them from settings then) and the value has no
    time-to-live, so the same ciphertext always decrypts to the same secret. A changed secret
    is a new ciphertext (a fresh IV each time), and a ciphertext that fails to decrypt is
    never remembered. The secrets stay in the memory of the process, as they already do
    while it verifies signatures; they are never written anywhere.
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

    def from_db_value(self, value, *args, **kwargs):
        if value is None or self.ttl is not None:
            return super().from_db_value(value, *args, **kwargs)
        digest = hashlib.sha256(force_bytes(value)).digest()
        decrypted = self.__dict__.setdefault("_decrypted", {})
        secret = decrypted.get(digest)
        if secret is None:
            secret = super().from_db_value(value, *args, **kwargs)
            if len(decrypted) >= DECRYPTED_CACHE_SIZE:
                decrypted.clear()
            decrypted[digest] = secret
        return secret

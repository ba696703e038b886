"""Test settings: production defaults (DEBUG off) with fixed test keys and plain HTTP."""

import os

_TEST_ENV = {
    "KEYTRADE_TESTING": "1",
    "DEBUG": "false",
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
    # A valid Fernet key; only ever used by the test suite.
    "CRYPTOGRAPHY_KEY": "5ZcXqO8bG3m1yX6qP0vV8wJ2dT4rL9sN7kF1hC3aE5g=",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver,[::1]",
}
for _key, _value in _TEST_ENV.items():
    os.environ.setdefault(_key, _value)

from keytrade.settings import *  # noqa: E402,F403
from keytrade.settings import DATABASES, VAR_DIR  # noqa: E402

# A file, not memory, so that worker and server subprocesses can share the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# Nothing is published to a real broker unless a test starts one on purpose.
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "memory://")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Serve static files straight from the app directories: no collectstatic before tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

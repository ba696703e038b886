"""Settings for Celery workers started by tests: the test database, a private broker folder.

The parent test passes the test database as DATABASE_URL and the folders as variables.
"""

import os

from keytrade.settings_test import *  # noqa: F403

CELERY_BROKER_URL = "filesystem://"
_BROKER = os.environ["KT_TEST_BROKER_DIR"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": _BROKER,
    "data_folder_out": _BROKER,
    "processed_folder": _BROKER + "-processed",
    "control_folder": _BROKER + "-control",
    "store_processed": False,
}
if not os.environ.get("REDIS_URL"):
    # Share the parent's file cache: the per-key lock and rate-limit pauses live there.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ["KT_TEST_CACHE_DIR"],
        }
    }
# The real window is 1+2+5+10+17 s; the process tests keep the shape, not the wait.
ORDER_RECONCILE_SCHEDULE = (0.2, 0.2, 0.3, 0.3, 0.5)

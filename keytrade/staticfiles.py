"""Production's static files storage, with each name's URL worked out once per process.

`{% static %}` costs about 0.08 ms of CPU per call through the manifest storage (the manifest
lookup, URL splitting and joining, unquoting) and every page makes six or more. The manifest is
read once when the storage starts, so a name's URL cannot change while the process runs. DEBUG
is still read on every call (as Django's storage does), and any settings change (tests) clears
the memo.
"""

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage


class MemoisedManifestStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's CompressedManifestStaticFilesStorage with url() memoised per name."""

    def __init__(self, *args, **kwargs):
        self._urls: dict[str, str] = {}
        super().__init__(*args, **kwargs)

    def url(self, name, force=False):
        if force or settings.DEBUG:
            return super().url(name, force)
        url = self._urls.get(name)
        if url is None:  # a name missing from the manifest raises, and is not remembered
            url = self._urls[name] = super().url(name)
        return url

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        self._urls = {}

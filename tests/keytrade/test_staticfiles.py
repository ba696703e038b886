"""Production's static storage gives the manifest's URLs, worked out once per name."""

import json

import pytest
from django.test import override_settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

from keytrade.staticfiles import MemoisedManifestStorage


@pytest.fixture
def storage(tmp_path, settings):
    settings.DEBUG = False
    settings.STATIC_URL = "/static/"
    manifest = {"version": "1.1", "hash": "x", "paths": {"app/site.css": "app/site.0123abcd.css"}}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    return MemoisedManifestStorage(location=str(tmp_path))


def test_a_url_is_the_manifests_hashed_name_every_time(storage, monkeypatch):
    assert storage.url("app/site.css") == "/static/app/site.0123abcd.css"
    calls = []
    monkeypatch.setattr(storage, "stored_name", lambda name: calls.append(name) or name)
    assert storage.url("app/site.css") == "/static/app/site.0123abcd.css"
    assert calls == []  # remembered: the manifest is not consulted again


def test_a_name_missing_from_the_manifest_fails_every_time(storage):
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("app/missing.css")


def test_it_answers_as_whitenoises_storage_through_settings_changes(storage, tmp_path):
    plain = CompressedManifestStaticFilesStorage(location=str(tmp_path))
    assert storage.url("app/site.css") == plain.url("app/site.css")
    for change in ({"STATIC_URL": "/assets/"}, {"DEBUG": True}, {"MEDIA_URL": "/m/"}):
        with override_settings(**change):
            assert storage.url("app/site.css") == plain.url("app/site.css"), change
        assert storage.url("app/site.css") == plain.url("app/site.css"), change
    with override_settings(DEBUG=True):
        assert storage.url("app/site.css") == "/static/app/site.css"  # unhashed, as Django's

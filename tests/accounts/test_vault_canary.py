"""/healthz reports whether the vault's keys still decrypt the canary."""

import pytest

from accounts.models import EncryptionCanary

pytestmark = pytest.mark.django_db


def test_migrate_leaves_a_canary_that_decrypts(client):
    assert EncryptionCanary.objects.get().value == EncryptionCanary.PLAINTEXT
    body = client.get("/healthz").json()
    assert body["checks"]["encryption"] == {"ok": True, "detail": "ok"}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("CRYPTOGRAPHY_KEY", "0Yb7s5mB6Kk3bq0oD3Q1y7cX9v2n4Lr8tJ5hF1gE2dA="),
        ("SECRET_KEY", "not-the-secret-key-the-canary-was-signed-with-0123456789"),
    ],
    ids=["wrong-cryptography-key", "wrong-secret-key"],
)
def test_healthz_is_503_with_a_wrong_key(client, settings, setting, value):
    setattr(settings, setting, value)
    response = client.get("/healthz")
    assert response.status_code == 503
    encryption = response.json()["checks"]["encryption"]
    assert encryption["ok"] is False
    assert "does not decrypt" in encryption["detail"]


def test_healthz_is_503_without_a_canary(client):
    EncryptionCanary.objects.all().delete()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "migrate" in response.json()["checks"]["encryption"]["detail"]

"""/healthz tells a load balancer whether keytrade can serve: database and broker reachable."""

import socket

import pytest

from keytrade.celery import app as celery_app
from keytrade.tasks import worker_heartbeat

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["ok"] is True
    assert body["checks"]["database"] == {"ok": True, "detail": "ok"}
    assert body["checks"]["broker"] == {"ok": True, "detail": "ok"}


@pytest.mark.redis
def test_healthz_is_ok_against_a_real_redis_broker(client, redis_url, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", redis_url)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["ok"] is True


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{closed_port()}/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_reports_the_last_worker_heartbeat(client):
    assert client.get("/healthz").json()["worker_heartbeat"] is None
    worker_heartbeat.apply()
    beat = client.get("/healthz").json()["worker_heartbeat"]
    assert beat is not None
    assert 0 <= beat["age_seconds"] < 30

"""The container healthcheck probe follows /healthz and the worker heartbeat."""

import socket

import pytest

from keytrade import probe
from keytrade.celery import app as celery_app
from keytrade.tasks import worker_heartbeat

pytestmark = pytest.mark.django_db(transaction=True)


def test_web_probe_passes_while_healthz_is_ok(live_server):
    assert probe.main(["web", "--url", f"{live_server.url}/healthz"]) == 0


def test_web_probe_fails_when_the_broker_is_down(live_server, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{port}/0")
    assert probe.main(["web", "--url", f"{live_server.url}/healthz"]) == 1


def test_web_probe_fails_when_nothing_listens():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert probe.main(["web", "--url", f"http://127.0.0.1:{port}/healthz", "--timeout", "2"]) == 1


def test_heartbeat_probe_needs_a_recent_heartbeat(live_server):
    url = f"{live_server.url}/healthz"
    assert probe.main(["heartbeat", "--url", url]) == 1
    worker_heartbeat.apply()
    assert probe.main(["heartbeat", "--url", url, "--max-age", "60"]) == 0
    assert probe.main(["heartbeat", "--url", url, "--max-age", "0"]) == 1


def test_probe_sends_a_host_django_accepts(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", ".example.com,*,keytrade.example.com")
    assert probe.host_header() == "keytrade.example.com"
    monkeypatch.delenv("ALLOWED_HOSTS")
    assert probe.host_header() == "localhost"

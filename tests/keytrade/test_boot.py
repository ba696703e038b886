"""keytrade starts with no configuration at all, and refuses to start unsafely in production."""

import json
import secrets
import sys

import pytest
from cryptography.fernet import Fernet

from tests.processes import bare_env, celery_worker_args, copy_source, run, running, tail

PYTHON = sys.executable

SEND_AND_WAIT = """
import json, os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keytrade.settings")  # as manage.py does
django.setup()
from django.conf import settings
from keytrade.health import heartbeat_get
from keytrade.tasks import worker_heartbeat

worker_heartbeat.delay()
deadline = time.monotonic() + 60
beat = None
while time.monotonic() < deadline:
    beat = heartbeat_get()
    if beat and beat["hostname"] == sys.argv[1]:
        break
    time.sleep(0.2)
print(json.dumps({
    "base_dir": str(settings.BASE_DIR),
    "debug": settings.DEBUG,
    "database": settings.DATABASES["default"]["NAME"],
    "broker": settings.CELERY_BROKER_URL,
    "heartbeat": beat,
}))
"""


def production_env(source, tmp_path, **overrides):
    env = bare_env(
        source,
        DJANGO_SETTINGS_MODULE="keytrade.settings",
        KEYTRADE_VAR_DIR=str(tmp_path / "var"),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        CRYPTOGRAPHY_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="keytrade.example.com",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@pytest.mark.slow
def test_keytrade_boots_with_no_environment_and_runs_a_task_on_the_embedded_broker(tmp_path):
    source = copy_source(tmp_path / "src")
    env = bare_env(source)

    keys = run([PYTHON, "keytrade/localkeys.py"], env=env, cwd=source)
    assert keys.returncode == 0, keys.stderr
    local_env = (source / "var" / "local.env").read_text()
    assert "SECRET_KEY=" in local_env and "CRYPTOGRAPHY_KEY=" in local_env

    migrate = run([PYTHON, "manage.py", "migrate", "--no-input"], env=env, cwd=source)
    assert migrate.returncode == 0, migrate.stderr
    assert (source / "var" / "keytrade.sqlite3").is_file()

    name = "no-env@keytrade-test"
    log = tmp_path / "worker.log"
    with running(celery_worker_args(name=name), env=env, log=log, cwd=source):
        sent = run([PYTHON, "-c", SEND_AND_WAIT, name], env=env, cwd=source, timeout=90)
    assert sent.returncode == 0, f"{sent.stderr}\n--- worker log:\n{tail(log)}"
    report = json.loads(sent.stdout.strip().splitlines()[-1])
    assert report["base_dir"] == str(source)
    assert report["debug"] is True  # from the generated var/local.env
    assert report["database"] == str(source / "var" / "keytrade.sqlite3")
    assert report["broker"].startswith("filesystem://")
    assert report["heartbeat"] is not None, f"the worker never ran the task:\n{tail(log)}"
    assert report["heartbeat"]["hostname"] == name
    assert "keytrade.tasks.worker_heartbeat" in log.read_text()


@pytest.mark.slow
def test_check_deploy_passes_with_production_settings(tmp_path):
    source = copy_source(tmp_path / "src")
    result = run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(source, tmp_path),
        cwd=source,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["SECRET_KEY", "CRYPTOGRAPHY_KEY"])
def test_production_refuses_to_start_without_a_secret(tmp_path, missing):
    source = copy_source(tmp_path / "src")
    env = production_env(source, tmp_path, **{missing: None})
    result = run([PYTHON, "manage.py", "check"], env=env, cwd=source)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr
    present = "CRYPTOGRAPHY_KEY" if missing == "SECRET_KEY" else "SECRET_KEY"
    assert env[present] not in result.stdout + result.stderr

"""With DATABASE_URL and REDIS_URL set (as .ci/run does), the real services are used.

Locally without them these tests skip; with CI=true a missing service fails them instead.
"""

import os
import uuid
from urllib.parse import urlparse

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection

from keytrade.celery import app as celery_app
from keytrade.health import heartbeat_get
from keytrade.tasks import worker_heartbeat
from tests.processes import ROOT, celery_worker_args, running, tail, wait_for


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_suite_runs_on_postgresql_when_database_url_is_set(postgres_url):
    assert connection.vendor == "postgresql"
    configured = urlparse(postgres_url)
    assert connection.settings_dict["HOST"] == configured.hostname
    assert connection.settings_dict["PORT"] in (configured.port, str(configured.port))
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        assert cursor.fetchone()[0]
    get_user_model().objects.create_user(username="pg-probe", password="x" * 12)
    assert get_user_model().objects.filter(username="pg-probe").exists()


@pytest.mark.redis
def test_the_cache_lives_in_redis(redis_url):
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    key = f"probe-{uuid.uuid4().hex}"
    cache.set(key, {"answer": 42}, timeout=60)
    assert cache.get(key) == {"answer": 42}
    # Read it back with a plain Redis client: the value really is in that server.
    raw = redis.Redis.from_url(redis_url)
    stored = list(raw.scan_iter(match=f"*{key}*"))
    assert len(stored) == 1
    assert raw.ttl(stored[0]) > 0


@pytest.mark.redis
@pytest.mark.slow
def test_a_task_published_to_redis_is_run_by_a_real_worker(redis_url, tmp_path):
    queue = f"keytrade-test-{uuid.uuid4().hex}"  # only this test's worker consumes it
    name = f"redis-{uuid.uuid4().hex[:8]}@keytrade-test"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "keytrade.settings_test",
        "TEST_CELERY_BROKER_URL": redis_url,
    }
    log = tmp_path / "worker.log"
    with running(celery_worker_args(name=name, queue=queue), env=env, log=log, cwd=ROOT) as proc:
        with (
            celery_app.connection_for_write(redis_url) as conn,
            conn.Producer() as producer,
        ):
            worker_heartbeat.apply_async(queue=queue, producer=producer)

        def beat_from_this_worker():
            beat = heartbeat_get()
            return beat if beat and beat["hostname"] == name else None

        beat = wait_for(beat_from_this_worker, timeout=60, proc=proc)
        assert beat is not None, f"the worker never ran the task:\n{tail(log)}"
    assert beat["age_seconds"] < 60
    worker_log = log.read_text()
    assert "redis://" in worker_log
    assert "keytrade.tasks.worker_heartbeat" in worker_log

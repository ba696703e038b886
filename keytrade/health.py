"""Health checks shared by /healthz and the worker's start-up guard."""

from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from keytrade.celery import app as celery_app

HEARTBEAT_CACHE_KEY = "keytrade:worker-heartbeat"

# Extra checks registered by apps (e.g. accounts registers the encryption canary).
CHECKS: dict = {}


def register_check(name: str):
    """Register a zero-argument callable returning (ok, detail) under a name."""

    def decorator(func):
        CHECKS[name] = func
        return func

    return decorator


@register_check("database")
def check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any failure means unhealthy; the type is enough
        return False, type(exc).__name__


@register_check("broker")
def check_broker():
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, type(exc).__name__


def health_report() -> dict:
    report = {}
    for name, func in CHECKS.items():
        ok, detail = func()
        report[name] = {"ok": ok, "detail": detail}
    return report


def heartbeat_record(*, hostname: str) -> dict:
    """Record that a worker (named by its Celery hostname) ran a task just now."""
    beat = {"at": timezone.now().isoformat(), "hostname": hostname}
    cache.set(HEARTBEAT_CACHE_KEY, beat, timeout=None)
    return beat


def heartbeat_get() -> dict | None:
    """Return the last worker heartbeat with its age in seconds, or None if none was seen."""
    beat = cache.get(HEARTBEAT_CACHE_KEY)
    if not beat:
        return None
    at = datetime.fromisoformat(beat["at"])
    return {**beat, "age_seconds": round((timezone.now() - at).total_seconds(), 1)}

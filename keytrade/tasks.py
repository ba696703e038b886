"""Project-wide tasks (app tasks live in each app's tasks.py)."""

from celery import shared_task

from keytrade.health import heartbeat_record


@shared_task(bind=True, soft_time_limit=10, time_limit=20)
def worker_heartbeat(self) -> dict:
    """Record that this worker is alive and consuming tasks; return the heartbeat."""
    return heartbeat_record(hostname=self.request.hostname or "")

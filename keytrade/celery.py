"""The Celery app; every periodic schedule lives in BEAT_SCHEDULE below."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keytrade.settings")

app = Celery("keytrade")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# keytrade is not an installed app, so its own tasks module is named explicitly.
app.autodiscover_tasks(["keytrade"])
# The dashboard's market-data tasks live beside trading.tasks.
app.autodiscover_tasks(["trading"], related_name="market_tasks")

# One place for every periodic schedule (synced into django-celery-beat's tables by beat).
BEAT_SCHEDULE: dict[str, dict] = {
    # Outbox: re-send order intents whose queue message was lost; reconcile orphaned sends.
    "trading-orders-sweep": {"task": "trading.tasks.orders_sweep_task", "schedule": 30.0},
    "trading-accounts-sync": {
        "task": "trading.tasks.accounts_sync_all_task",
        "schedule": float(os.environ.get("ACCOUNT_SYNC_INTERVAL_SECONDS", "60")),
    },
    # Key-rotation reminders (7 days before, on the day, weekly while overdue), once a day.
    "accounts-key-reminders": {
        "task": "accounts.tasks.key_reminders_task",
        "schedule": crontab(hour=7, minute=0),
        "options": {"expires": 6 * 3600},
    },
    # Prices that value balances on the overview (USDT; other quotes are fetched on demand).
    "trading-prices-refresh": {
        "task": "trading.market_tasks.prices_refresh_all_task",
        "schedule": float(os.environ.get("ACCOUNT_SYNC_INTERVAL_SECONDS", "60")),
    },
    "trading-keys-verify": {"task": "trading.tasks.keys_verify_all_task", "schedule": 86400.0},
    "paper-evaluate-resting-orders": {
        "task": "paper.tasks.paper_evaluate_resting_orders",
        "schedule": 30.0,
    },
    # Proves beat and a worker are alive; /healthz and the compose beat healthcheck read it.
    "worker-heartbeat": {
        "task": "keytrade.tasks.worker_heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE

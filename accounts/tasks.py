"""Celery tasks for accounts: notification delivery and the daily key-rotation reminders."""

from smtplib import SMTPException

from celery import shared_task

from accounts.services.key_reminders import key_reminders_send
from accounts.services.notifications import notification_email_send
from accounts.services.webhooks import WebhookTemporaryError, webhook_deliver


@shared_task(
    soft_time_limit=30,
    time_limit=45,
    autoretry_for=(SMTPException, OSError),
    max_retries=5,
    retry_backoff=30,
    retry_backoff_max=1800,
)
def notification_email_task(notification_id: str) -> None:
    """Email one notification to its user."""
    notification_email_send(notification_id=notification_id)


# Bounded exponential backoff: 10 s, 20 s, 40 s ... capped at 30 min, 8 tries, with jitter.
@shared_task(
    soft_time_limit=30,
    time_limit=45,
    autoretry_for=(WebhookTemporaryError,),
    max_retries=8,
    retry_backoff=10,
    retry_backoff_max=1800,
    retry_jitter=True,
)
def notification_webhook_task(notification_id: str) -> None:
    """POST one notification to its user's webhook, retrying while the receiver fails."""
    webhook_deliver(notification_id=notification_id)


@shared_task(soft_time_limit=300, time_limit=360)
def key_reminders_task() -> int:
    """Send today's key-rotation reminders; return how many went out."""
    return key_reminders_send()

"""Notifications: the in-app row first, then email and the user's webhook, each from a task."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Notification, NotificationWebhook

Kind = Notification.Kind


def notify(
    *,
    user,
    kind: str,
    title: str,
    body: str,
    link: str = "",
    dedupe_key: str | None = None,
) -> Notification | None:
    """Record a notification and queue its email and webhook delivery.

    With a dedupe_key, at most one notification with that key is made per user and UTC day;
    a repeat returns None and sends nothing.
    """
    now = timezone.now()
    notification = Notification(
        user=user,
        kind=kind,
        title=title[:200],
        body=body,
        link=link[:500],
        created_at=now,
        dedupe_key=(dedupe_key or "")[:200],
        dedupe_day=now.date() if dedupe_key else None,
    )
    notification.full_clean(exclude=["user"], validate_constraints=False)
    if dedupe_key and _already_sent(notification):
        return None
    try:
        # A savepoint: losing a race on the unique constraint must not break the caller.
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        return None
    _queue_deliveries(notification)
    return notification


def _already_sent(notification: Notification) -> bool:
    return Notification.objects.filter(
        user_id=notification.user_id,
        dedupe_key=notification.dedupe_key,
        dedupe_day=notification.dedupe_day,
    ).exists()


def _queue_deliveries(notification: Notification) -> None:
    # Imported here: the tasks module imports this one.
    from accounts.tasks import notification_email_task, notification_webhook_task

    if notification.user.email:
        notification_email_task.delay_on_commit(str(notification.pk))
    if webhook_active_for(user_id=notification.user_id):
        notification_webhook_task.delay_on_commit(str(notification.pk))


def webhook_active_for(*, user_id) -> bool:
    """Return True when the user has a webhook URL and a signing secret."""
    return (
        NotificationWebhook.objects.filter(user_id=user_id, secret_created_at__isnull=False)
        .exclude(url="")
        .exists()
    )


def _absolute(link: str) -> str:
    if not link or "://" in link:
        return link
    return settings.SITE_URL.rstrip("/") + link


def notification_email_send(*, notification_id) -> bool:
    """Email one notification to its user, once; return False when there was nothing to send."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or not notification.user.email:
        return False
    # Claim first, so two deliveries of the same task cannot both send the email.
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    link = _absolute(notification.link)
    text = notification.body + (f"\n\n{link}" if link else "")
    text += "\n\n-- \nkeytrade: you receive this because you have an account on this server."
    try:
        send_mail(
            subject=f"[keytrade] {notification.title}",
            message=text,
            from_email=None,
            recipient_list=[notification.user.email],
        )
    except Exception:
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        raise
    return True


def notification_mark_read(*, notification: Notification) -> None:
    """Mark one notification as read (idempotent)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user as read; return how many changed."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )

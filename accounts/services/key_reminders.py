"""Key-rotation reminders: 7 days before, on the day, then weekly while overdue; snooze once.

The date that counts is the key's `replace_by`: its rotate-by date, or the expiry the exchange
reported when that comes first. Days are UTC calendar days. At most one reminder per key per
day, guarded twice: a compare-and-set on the key's reminder columns and the notification's
per-day dedupe key.
"""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import ExchangeKey, Notification
from accounts.services.audit import audit_record
from accounts.services.notifications import notify

WINDOW_DAYS = 7
OVERDUE_EVERY_DAYS = 7
SNOOZE_DAYS = 7
SECRET_FIELDS = ("api_key", "secret", "passphrase")


class Stage:
    SOON = "soon"
    DUE = "due"
    OVERDUE = "overdue"


# Put on a key whenever its rotate-by date moves: a new date starts a new reminder cycle.
REMINDER_RESET = {
    "rotation_reminded_at": None,
    "rotation_reminder_stage": "",
    "rotation_snoozed_until": None,
}


def reminder_stage(*, due: datetime | None, today: date) -> str:
    """Return where `today` falls relative to the due date: soon, due, overdue or ""."""
    if due is None:
        return ""
    days_left = (due.date() - today).days
    if days_left > WINDOW_DAYS:
        return ""
    if days_left > 0:
        return Stage.SOON
    return Stage.DUE if days_left == 0 else Stage.OVERDUE


def reminder_to_send(*, key: ExchangeKey, now: datetime) -> str:
    """Return the stage of the reminder this key should get now, or "" for none."""
    if key.status != ExchangeKey.Status.ACTIVE:
        return ""
    today = now.date()
    stage = reminder_stage(due=key.replace_by, today=today)
    if not stage:
        return ""
    if key.rotation_snoozed_until is not None and key.rotation_snoozed_until > now:
        return ""
    last = key.rotation_reminded_at.date() if key.rotation_reminded_at else None
    if last == today:
        return ""
    previous = key.rotation_reminder_stage
    if stage == Stage.SOON:
        return stage if not previous else ""
    if stage == Stage.DUE:
        return stage if previous in ("", Stage.SOON) else ""
    weekly = last is None or (today - last).days >= OVERDUE_EVERY_DAYS
    return stage if previous in ("", Stage.SOON) or weekly else ""


def _message(key: ExchangeKey, stage: str, today: date) -> tuple[str, str]:
    due = key.replace_by
    days = abs((due.date() - today).days)
    by_exchange = key.exchange_expires_at is not None and due == key.exchange_expires_at
    if stage == Stage.SOON:
        title = f"Rotate “{key.label}” within {days} day{'s' if days != 1 else ''}"
    elif stage == Stage.DUE:
        title = f"Rotate “{key.label}” today"
    else:
        title = f"“{key.label}” is {days} day{'s' if days != 1 else ''} overdue for rotation"
    why = (
        f"The exchange says this key expires on {due:%Y-%m-%d}; after that it stops working "
        "and bots using it stop."
        if by_exchange
        else f"Its rotate-by date is {due:%Y-%m-%d} (every {key.rotation_period_days} days)."
    )
    body = (
        f"Your {key.exchange} key “{key.label}” ({key.fingerprint}) needs rotating. {why}\n"
        "Create a new key on the exchange, then use “Rotate key” on the key's page: keytrade "
        "checks the new key first and swaps it in without stopping your bots."
    )
    return title, body


def key_reminder_send(*, key: ExchangeKey, stage: str, now: datetime) -> Notification | None:
    """Record and send one rotation reminder for a key, unless another run already did today."""
    with transaction.atomic():
        claimed = ExchangeKey.objects.filter(
            pk=key.pk,
            rotation_reminded_at=key.rotation_reminded_at,
            rotation_reminder_stage=key.rotation_reminder_stage,
        ).update(rotation_reminded_at=now, rotation_reminder_stage=stage)
        if not claimed:
            return None
        key.rotation_reminded_at, key.rotation_reminder_stage = now, stage
        title, body = _message(key, stage, now.date())
        return notify(
            user=key.user,
            kind=Notification.Kind.KEY_REMINDER,
            title=title,
            body=body,
            link=reverse("trading:key_detail", args=[key.pk]),
            dedupe_key=f"key-reminder:{key.pk}",
        )


def key_reminders_send() -> int:
    """Send every rotation reminder due today (the daily beat task); return how many were sent."""
    now = timezone.now()
    horizon = now + timedelta(days=WINDOW_DAYS + 1)
    keys = (
        ExchangeKey.objects.filter(status=ExchangeKey.Status.ACTIVE)
        .filter(Q(rotate_by__lt=horizon) | Q(exchange_expires_at__lt=horizon))
        .defer(*SECRET_FIELDS)
        .select_related("user")
        .order_by("rotate_by")
    )
    sent = 0
    for key in keys.iterator(chunk_size=500):
        stage = reminder_to_send(key=key, now=now)
        if stage and key_reminder_send(key=key, stage=stage, now=now) is not None:
            sent += 1
    return sent


def key_rotation_snooze(*, key: ExchangeKey, actor, request=None) -> ExchangeKey:
    """Silence this key's rotation reminders for 7 days; allowed once per rotate-by date."""
    now = timezone.now()
    if key.rotation_snoozed_until is not None:
        raise ValidationError("You already snoozed the reminders for this key once.")
    if not reminder_stage(due=key.replace_by, today=now.date()):
        raise ValidationError("This key is not due for rotation yet; there is nothing to snooze.")
    # Until midnight UTC, so the reminder due on the day the snooze ends still goes out.
    until = datetime.combine(now.date() + timedelta(days=SNOOZE_DAYS), time.min, tzinfo=now.tzinfo)
    with transaction.atomic():
        changed = ExchangeKey.objects.filter(pk=key.pk, rotation_snoozed_until__isnull=True).update(
            rotation_snoozed_until=until
        )
        if not changed:
            raise ValidationError("You already snoozed the reminders for this key once.")
        key.rotation_snoozed_until = until
        audit_record(
            event_type="key.rotation_snoozed",
            actor=actor,
            request=request,
            target=key,
            detail={"until": until.isoformat()},
        )
    return key

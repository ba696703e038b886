"""Rotation reminders: 7 days before, on the day, then weekly while overdue; snooze once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, ExchangeKey, Notification
from accounts.services.key_reminders import key_reminders_send, key_rotation_snooze
from accounts.tasks import key_reminders_task
from keytrade.celery import BEAT_SCHEDULE
from tests.vault_helpers import connect, grant_connect

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def key(alice, clock, eager_tasks):
    key = connect(grant_connect(alice), label="Main")
    ExchangeKey.objects.filter(pk=key.pk).update(rotate_by=DUE)
    return ExchangeKey.objects.get(pk=key.pk)


def reminders(key) -> list[Notification]:
    return list(
        Notification.objects.filter(kind="key_reminder", link__contains=str(key.pk)).order_by(
            "created_at"
        )
    )


def run_daily(clock, start: datetime, days: int, captured) -> list[str]:
    """Run the daily beat task at 07:00 UTC for `days` days; return the dates that reminded."""
    sent_on = []
    for offset in range(days):
        clock.set(start + timedelta(days=offset))
        with captured(execute=True):
            if key_reminders_send():
                sent_on.append(clock.now.date().isoformat())
    return sent_on


def test_reminders_go_out_a_week_before_on_the_day_and_weekly_while_overdue(
    key, clock, django_capture_on_commit_callbacks
):
    start = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    sent_on = run_daily(clock, start, 40, django_capture_on_commit_callbacks)
    assert sent_on == [
        "2026-03-13",  # 7 days before
        "2026-03-20",  # the day
        "2026-03-27",  # then weekly while overdue
        "2026-04-03",
    ]
    titles = [n.title for n in reminders(key)]
    assert titles == [
        "Rotate “Main” within 7 days",
        "Rotate “Main” today",
        "“Main” is 7 days overdue for rotation",
        "“Main” is 14 days overdue for rotation",
    ]
    assert len(mail.outbox) == 4
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "Rotate “Main” within 7 days" in mail.outbox[0].subject
    assert f"/keys/{key.pk}/" in mail.outbox[0].body


def test_at_most_one_reminder_per_key_per_day(key, clock, django_capture_on_commit_callbacks):
    clock.set(DUE)
    with django_capture_on_commit_callbacks(execute=True):
        assert key_reminders_send() == 1
        clock.advance(hours=5)
        assert key_reminders_send() == 0
        assert key_reminders_task.apply().get() == 0
    assert len(reminders(key)) == 1 and len(mail.outbox) == 1


def test_the_notification_dedupe_holds_even_if_the_key_columns_were_reset(key, clock):
    clock.set(DUE)
    assert key_reminders_send() == 1
    # As if a second beat raced past the key's compare-and-set: the per-day key still holds.
    ExchangeKey.objects.filter(pk=key.pk).update(
        rotation_reminded_at=None, rotation_reminder_stage=""
    )
    assert key_reminders_send() == 0
    assert len(reminders(key)) == 1


def test_a_key_that_enters_the_window_late_gets_one_reminder_at_once(
    alice, clock, django_capture_on_commit_callbacks
):
    clock.set(datetime(2026, 3, 1, 7, 0, tzinfo=UTC))
    key = connect(grant_connect(alice), label="Short", rotation_period_days=3)
    sent_on = run_daily(clock, clock.now, 4, django_capture_on_commit_callbacks)
    assert sent_on == ["2026-03-01", "2026-03-04"]  # within 3 days, then the day
    assert reminders(key)[0].title == "Rotate “Short” within 3 days"


def test_missed_due_day_is_caught_up_the_next_day(key, clock):
    clock.set(DUE - timedelta(days=7))
    assert key_reminders_send() == 1
    clock.set(DUE + timedelta(days=1))  # beat did not run on the day
    assert key_reminders_send() == 1
    assert reminders(key)[-1].title == "“Main” is 1 day overdue for rotation"


def test_snooze_silences_reminders_for_seven_days_once(
    alice, key, clock, django_capture_on_commit_callbacks
):
    clock.set(DUE - timedelta(days=7))
    assert key_reminders_send() == 1
    key_rotation_snooze(key=key, actor=alice)
    with pytest.raises(ValidationError, match="already snoozed"):
        key_rotation_snooze(key=ExchangeKey.objects.get(pk=key.pk), actor=alice)
    sent_on = run_daily(clock, DUE - timedelta(days=6), 14, django_capture_on_commit_callbacks)
    # Snoozed from 03-13 to 03-20 00:00 UTC: the day-of reminder still goes out, then weekly.
    assert sent_on == ["2026-03-20", "2026-03-27"]
    assert AuditEvent.objects.filter(event_type="key.rotation_snoozed").count() == 1


def test_snoozing_a_key_that_is_not_due_is_refused(alice, key, clock):
    clock.set(DUE - timedelta(days=30))
    with pytest.raises(ValidationError, match="not due"):
        key_rotation_snooze(key=key, actor=alice)


def test_the_exchange_expiry_counts_when_it_comes_first(key, clock):
    expiry = DUE - timedelta(days=10)
    ExchangeKey.objects.filter(pk=key.pk).update(exchange_expires_at=expiry)
    clock.set(expiry - timedelta(days=7))
    assert key_reminders_send() == 1
    reminder = reminders(key)[0]
    assert reminder.title == "Rotate “Main” within 7 days"
    assert "The exchange says this key expires on 2026-03-10" in reminder.body


def test_disabled_keys_get_no_reminders(key, clock):
    ExchangeKey.objects.filter(pk=key.pk).update(status=ExchangeKey.Status.DISABLED)
    clock.set(DUE)
    assert key_reminders_send() == 0


def test_changing_the_rotation_period_starts_a_new_cycle(alice, key, clock):
    from accounts.services.keys import key_update

    clock.set(DUE)
    key_reminders_send()
    key = ExchangeKey.objects.get(pk=key.pk)
    assert key.rotation_reminder_stage == "due"
    key_update(
        key=key,
        actor=alice,
        label=key.label,
        scope_read=True,
        scope_trade=False,
        scope_withdraw=False,
        ip_whitelist=key.ip_whitelist,
        rotation_period_days=365,
    )
    key.refresh_from_db()
    assert key.rotation_reminder_stage == "" and key.rotation_reminded_at is None


def test_the_daily_schedule_is_registered_with_beat():
    entry = BEAT_SCHEDULE["accounts-key-reminders"]
    assert entry["task"] == key_reminders_task.name
    assert entry["schedule"].hour == {7}

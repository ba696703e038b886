"""Notifications: the in-app row, email, the header bell and the notifications page."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent, Notification
from accounts.services.notifications import notify

pytestmark = pytest.mark.django_db

KIND = Notification.Kind


def test_notify_records_the_notification_and_emails_it(
    alice, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(
            user=alice,
            kind=KIND.BOT_ERROR,
            title="Bot “Grid” stopped",
            body="It hit an error.",
            link="/bots/1/",
        )
    assert Notification.objects.get() == notification
    assert notification.read_at is None
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert email.subject == "[keytrade] Bot “Grid” stopped"
    assert "It hit an error." in email.body
    assert "http://127.0.0.1:8000/bots/1/" in email.body
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_nothing_is_sent_when_the_transaction_rolls_back(
    alice, eager_tasks, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            notify(user=alice, kind=KIND.RISK_STOP, title="Risk stop", body="")
            raise RuntimeError("caller failed")
    assert not Notification.objects.exists() and mail.outbox == []


def test_a_user_without_email_gets_the_in_app_notification_only(
    alice, eager_tasks, django_capture_on_commit_callbacks
):
    alice.email = ""
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=alice, kind=KIND.KILL_SWITCH, title="Trading halted", body="")
    assert Notification.objects.count() == 1 and mail.outbox == []


def test_a_dedupe_key_allows_one_notification_per_user_and_day(
    alice, bob, clock, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = notify(user=alice, kind=KIND.KEY_REJECTED, title="a", body="", dedupe_key="k1")
        again = notify(user=alice, kind=KIND.KEY_REJECTED, title="b", body="", dedupe_key="k1")
        other_user = notify(user=bob, kind=KIND.KEY_REJECTED, title="c", body="", dedupe_key="k1")
        clock.advance(days=1)
        next_day = notify(user=alice, kind=KIND.KEY_REJECTED, title="d", body="", dedupe_key="k1")
    assert first and other_user and next_day and again is None
    assert len(mail.outbox) == 3


def test_the_email_is_sent_once_even_if_the_task_runs_twice(alice, eager_tasks):
    from accounts.tasks import notification_email_task

    notification = notify(user=alice, kind=KIND.ORDER_ALERT, title="x", body="")
    notification_email_task.apply(args=[str(notification.pk)])
    notification_email_task.apply(args=[str(notification.pk)])
    assert len(mail.outbox) == 1


def test_tasks_carry_only_the_notification_id(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    from accounts.tasks import notification_email_task

    sent = []
    monkeypatch.setattr(notification_email_task, "delay", lambda *a, **kw: sent.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(user=alice, kind=KIND.BOT_ERROR, title="secret-free", body="")
    assert sent == [((str(notification.pk),), {})]


# --- pages ----------------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count_and_polls_every_30_seconds(client, alice):
    for n in range(3):
        notify(user=alice, kind=KIND.BOT_ERROR, title=f"n{n}", body="")
    client.force_login(alice)
    page = client.get(reverse("trading:key_list")).content.decode()
    assert 'class="bell-count">3<' in page
    assert 'hx-trigger="every 30s"' in page
    assert f'hx-get="{reverse("accounts:notification_bell")}"' in page
    Notification.objects.filter(title="n0").update(read_at="2026-01-01T00:00:00Z")
    bell = client.get(reverse("accounts:notification_bell")).content.decode()
    assert 'class="bell-count">2<' in bell and "2 unread" in bell


def test_the_bell_shows_no_count_when_all_is_read(client, alice):
    client.force_login(alice)
    bell = client.get(reverse("accounts:notification_bell")).content.decode()
    assert "bell-count" not in bell


def test_the_page_lists_only_my_notifications_newest_first(client, alice, bob, clock):
    notify(user=alice, kind=KIND.BOT_ERROR, title="older", body="first body")
    clock.advance(minutes=1)
    notify(user=alice, kind=KIND.RISK_STOP, title="newer", body="")
    notify(user=bob, kind=KIND.BOT_ERROR, title="bob's", body="")
    client.force_login(alice)
    page = client.get(reverse("accounts:notifications")).content.decode()
    assert page.index("newer") < page.index("older")
    assert "first body" in page and "bob&#x27;s" not in page and "bob's" not in page
    assert "Mark all read (2)" in page


def test_mark_one_read_and_follow_its_link(client, alice):
    notification = notify(user=alice, kind=KIND.KEY_REMINDER, title="t", body="", link="/keys/")
    client.force_login(alice)
    url = reverse("accounts:notification_read", args=[notification.pk])
    response = client.post(url, {"follow": "1"})
    assert response.status_code == 302 and response["Location"] == "/keys/"
    notification.refresh_from_db()
    assert notification.is_read


def test_a_link_to_another_site_is_not_followed(client, alice):
    notification = notify(
        user=alice, kind=KIND.ORDER_ALERT, title="t", body="", link="https://evil.example/"
    )
    client.force_login(alice)
    response = client.post(
        reverse("accounts:notification_read", args=[notification.pk]), {"follow": "1"}
    )
    assert response["Location"] == reverse("accounts:notifications")


def test_mark_all_read(client, alice, bob):
    for _ in range(2):
        notify(user=alice, kind=KIND.BOT_ERROR, title="t", body="")
    bobs = notify(user=bob, kind=KIND.BOT_ERROR, title="t", body="")
    client.force_login(alice)
    client.post(reverse("accounts:notification_read_all"))
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    bobs.refresh_from_db()
    assert not bobs.is_read


def test_an_outsider_gets_404_and_an_audit_event(client, alice, charlie):
    notification = notify(user=alice, kind=KIND.BOT_ERROR, title="t", body="")
    client.force_login(charlie)
    response = client.post(reverse("accounts:notification_read", args=[notification.pk]))
    assert response.status_code == 404
    notification.refresh_from_db()
    assert not notification.is_read
    denied = AuditEvent.objects.get(event_type="access.denied")
    assert denied.actor_id == charlie.pk and denied.target_id == str(notification.pk)


def test_mark_read_needs_post(client, alice):
    notification = notify(user=alice, kind=KIND.BOT_ERROR, title="t", body="")
    client.force_login(alice)
    assert (
        client.get(reverse("accounts:notification_read", args=[notification.pk])).status_code == 405
    )


def test_pages_need_login(client):
    for name in (
        "accounts:notifications",
        "accounts:notification_bell",
        "accounts:webhook_settings",
    ):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

"""The admin: users with their roles, a read-only audit trail with CSV export, no secrets."""

import csv
import io

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.services.audit import audit_record, audit_verify
from tests.accounts.conftest import TOTP_SECRET, enrol_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, superuser):
    enrol_totp(superuser)
    client.force_login(superuser)
    return client


@pytest.fixture
def events(alice, bob):
    return [
        audit_record(event_type="login.success", actor=alice),
        audit_record(event_type="login.failure", outcome="failure", detail={"username": "bob"}),
        audit_record(event_type="login.success", actor=bob),
        audit_record(
            event_type="login.failure", outcome="failure", detail={"username": "=HYPERLINK(1)"}
        ),
    ]


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_audit_changelist_lists_filters_and_offers_export(admin_client, events):
    response = admin_client.get(reverse("admin:accounts_auditevent_changelist"))
    assert response.status_code == 200
    for text in ("login.failure", "By event type", "By outcome", "By actor username"):
        assert text in response.text
    assert reverse("admin:accounts_auditevent_export_csv") in response.text
    assert "Add audit event" not in response.text


def test_no_one_can_add_change_or_delete_audit_events(admin_client, events):
    event = events[0]
    assert admin_client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    change_url = reverse("admin:accounts_auditevent_change", args=[event.seq])
    page = admin_client.get(change_url)
    assert page.status_code == 200 and 'name="_save"' not in page.text
    admin_client.post(change_url, {"event_type": "tampered"})
    delete_url = reverse("admin:accounts_auditevent_delete", args=[event.seq])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        reverse("admin:accounts_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.seq], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.filter(event_type="tampered").count() == 0
    assert AuditEvent.objects.filter(seq=event.seq).exists()
    assert audit_verify() is None


def test_csv_export_follows_the_changelist_filters(admin_client, events):
    url = reverse("admin:accounts_auditevent_export_csv")
    rows = _csv_rows(admin_client.get(url, {"event_type__exact": "login.success"}))
    assert sorted(row["actor_username"] for row in rows) == ["alice", "bob"]
    assert {row["event_type"] for row in rows} == {"login.success"}
    assert rows[0]["hash"] == AuditEvent.objects.get(seq=rows[0]["seq"]).hash


def test_csv_export_follows_search_and_dates(admin_client, events):
    url = reverse("admin:accounts_auditevent_export_csv")
    rows = _csv_rows(admin_client.get(url, {"q": "alice"}))
    assert [row["actor_username"] for row in rows] == ["alice"]
    year = events[0].created_at.year
    existing = AuditEvent.objects.count()  # the events, and the export just above
    assert len(_csv_rows(admin_client.get(url, {"created_at__year": year}))) == existing
    assert _csv_rows(admin_client.get(url, {"created_at__year": year - 1})) == []


def test_csv_export_defuses_spreadsheet_formulas(admin_client, events):
    rows = _csv_rows(admin_client.get(reverse("admin:accounts_auditevent_export_csv")))
    details = [row["detail"] for row in rows if "HYPERLINK" in row["detail"]]
    assert details == ['{"username": "=HYPERLINK(1)"}']  # JSON text: starts with "{"
    audit_record(event_type="login.failure", outcome="failure", detail={}, target_id="=1+1")
    rows = _csv_rows(admin_client.get(reverse("admin:accounts_auditevent_export_csv")))
    assert "'=1+1" in [row["target_id"] for row in rows]


def test_the_export_action_exports_the_selected_events(admin_client, events):
    response = admin_client.post(
        reverse("admin:accounts_auditevent_changelist"),
        {"action": "export_selected_csv", "_selected_action": [events[1].seq, events[3].seq]},
    )
    rows = _csv_rows(response)
    assert [int(row["seq"]) for row in rows] == [events[1].seq, events[3].seq]


def test_exports_are_themselves_audited(admin_client, superuser, events):
    _csv_rows(admin_client.get(reverse("admin:accounts_auditevent_export_csv")))
    exported = AuditEvent.objects.get(event_type="audit.exported")
    assert exported.actor_id == superuser.pk and exported.detail["count"] == len(events)


def test_user_admin_shows_and_edits_roles(admin_client, alice):
    alice.groups.add(Group.objects.get(name="trader"))
    changelist = admin_client.get(reverse("admin:accounts_user_changelist"))
    assert changelist.status_code == 200 and "trader" in changelist.text
    viewer = Group.objects.get(name="viewer")
    add_page = admin_client.get(reverse("admin:accounts_user_add"))
    assert add_page.context["adminform"].form.initial["groups"] == [viewer.pk]
    change = admin_client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    form = change.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("password", "last_login", "date_joined")
    }
    data.update(
        groups=[viewer.pk],
        user_permissions=[],
        is_active="on",
        date_joined_0="2026-01-01",
        date_joined_1="00:00:00",
    )
    data.pop("is_staff", None)
    data.pop("is_superuser", None)
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[alice.pk]), data, follow=False
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(alice.groups.values_list("name", flat=True)) == ["viewer"]
    changed = AuditEvent.objects.get(event_type="user.roles_changed")
    assert changed.detail["roles"] == ["viewer"] and changed.target_id == str(alice.pk)


def test_admin_never_shows_two_factor_secrets(admin_client, alice):
    enrol_totp(alice)
    totp = Authenticator.objects.get(user=alice, type=Authenticator.Type.TOTP)
    recovery = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    pages = [
        admin_client.get(reverse("admin:mfa_authenticator_changelist")),
        admin_client.get(reverse("admin:mfa_authenticator_change", args=[totp.pk])),
        admin_client.get(reverse("admin:mfa_authenticator_change", args=[recovery.pk])),
        admin_client.get(reverse("admin:accounts_user_change", args=[alice.pk])),
    ]
    codes = recovery.wrap().get_unused_codes()
    for page in pages:
        assert page.status_code == 200
        assert TOTP_SECRET not in page.text
        assert recovery.data["seed"] not in page.text
        assert not any(code in page.text for code in codes)


def test_admin_can_reset_a_lost_authenticator(admin_client, alice):
    enrol_totp(alice)
    totp = Authenticator.objects.get(user=alice, type=Authenticator.Type.TOTP)
    response = admin_client.post(
        reverse("admin:mfa_authenticator_delete", args=[totp.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=alice).exists()
    removed = AuditEvent.objects.get(event_type="mfa.removed")
    assert removed.detail["by_admin"] is True and removed.target_id == str(alice.pk)

"""The audit trail is append-only and tamper-evident."""

import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from accounts.models import AuditChainHead, AuditEvent
from accounts.services.audit import audit_record, audit_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_events(alice):
    return [
        audit_record(event_type="login.success", actor=alice, detail={"n": i}) for i in range(3)
    ]


def test_events_chain_by_hash(three_events):
    first, second, third = three_events
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert audit_verify() is None
    call_command("verify_audit")


def test_editing_a_row_in_sql_is_caught(three_events):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET event_type = 'login.failure' WHERE seq = %s",
            [three_events[1].seq],
        )
    broken = audit_verify()
    assert broken is not None and broken.seq == three_events[1].seq
    with pytest.raises(CommandError, match=f"seq {three_events[1].seq}"):
        call_command("verify_audit")


def test_deleting_a_row_is_caught(three_events):
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [three_events[1].seq]
        )
    assert audit_verify().seq == three_events[1].seq


def test_deleting_the_last_row_is_caught(three_events):
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [three_events[2].seq]
        )
    assert audit_verify().seq == three_events[2].seq


def test_detail_refuses_secret_fields(alice):
    with pytest.raises(ValueError, match="secret"):
        audit_record(event_type="key.connected", actor=alice, detail={"secret": "x"})
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "detail",
    [
        {"from": "NEW", "attempt": 1, "price": None, "halted": False, "reason": "a=b c:d"},
        {"status": AuditEvent.Outcome.SUCCESS},  # a str subclass: stored as plain text
        {"amount": Decimal("0.0100"), "id": uuid.UUID(int=7), "at": 1.5},
        {"nested": {"n": [1, "x"]}, "empty": []},
    ],
)
def test_detail_is_hashed_and_returned_exactly_as_the_database_stores_it(alice, detail):
    event = audit_record(event_type="order.open", actor=alice, detail=detail)

    stored = AuditEvent.objects.get(seq=event.seq).detail
    assert repr(event.detail) == repr(json.loads(json.dumps(detail, default=str)))
    # (PostgreSQL's jsonb keeps its own key order.)
    assert repr(sorted(event.detail.items())) == repr(sorted(stored.items()))
    assert all(type(v) is not AuditEvent.Outcome for v in event.detail.values())
    assert audit_verify() is None


def test_a_failed_append_fails_the_transaction_it_was_part_of(alice, monkeypatch):
    from keytrade import rawsql

    AuditChainHead.objects.get_or_create(id=1)
    real_run = rawsql.run

    def disk_full(conn, text, params, **kwargs):
        if text.startswith("INSERT"):
            raise DatabaseError("disk full")
        return real_run(conn, text, params, **kwargs)

    with transaction.atomic():
        alice.first_name = "Changed"
        alice.save(update_fields=["first_name"])
        monkeypatch.setattr(rawsql, "run", disk_full)
        with pytest.raises(DatabaseError):
            audit_record(event_type="profile.changed", actor=alice)
        monkeypatch.undo()
        # Catching the error does not let the change commit without its audit row.
        assert connection.needs_rollback
        with pytest.raises(TransactionManagementError):
            AuditEvent.objects.count()
    alice.refresh_from_db()
    assert alice.first_name != "Changed"
    assert audit_verify() is None


def test_an_empty_trail_without_a_head_starts_a_new_chain(alice):
    AuditChainHead.objects.all().delete()  # what a transactional test's flush leaves behind
    event = audit_record(event_type="login.success", actor=alice)
    assert event.seq == 1 and event.prev_hash == "0" * 64
    assert audit_verify() is None


def test_a_missing_head_over_existing_events_is_refused(three_events, alice):
    AuditChainHead.objects.all().delete()
    with pytest.raises(RuntimeError, match="head is missing"):
        audit_record(event_type="login.success", actor=alice)
    assert AuditEvent.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_extend_one_unbroken_chain(postgres_url, alice):
    # Each thread is its own connection: the head row's lock must order their appends.
    AuditChainHead.objects.get_or_create(id=1)
    start = threading.Barrier(4)

    def write(n):
        try:
            start.wait()
            for i in range(25):
                with transaction.atomic():
                    audit_record(event_type="login.success", actor=alice, detail={"n": n, "i": i})
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AuditEvent.objects.count() == 100
    assert audit_verify() is None

"""keytrade.rawsql prepares values exactly as the model fields do, and runs statements as Django's
cursor does (results, errors, transactions, and visible to query counters)."""

import uuid
import warnings
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext_lazy

from accounts.models import AuditChainHead, AuditEvent, ExchangeKey
from keytrade import rawsql
from trading.models import AccountLimits, Fill, Order, OrderIntent, TradingHalt

pytestmark = pytest.mark.django_db

MODELS = (
    AuditEvent,
    AuditChainHead,
    OrderIntent,
    Order,
    Fill,
    ExchangeKey,
    AccountLimits,
    TradingHalt,
    get_user_model(),
)
VALUES = (
    None,
    "",
    "abc",
    "42",
    "ffffffff-ffff-4fff-8fff-ffffffffffff",
    gettext_lazy("Cancelled"),
    0,
    7,
    -3,
    2**40,
    True,
    1.5,
    D("1.50"),
    D("0E-8"),
    D("-12345678901234567890.123456789012345678"),
    D("NaN"),
    D("Infinity"),
    datetime(2026, 11, 23, 17, 5, 9, 123456, tzinfo=UTC),
    datetime(2026, 11, 23, 19, 5, 9, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 11, 23, 17, 5, 9),  # noqa: DTZ001 - naive: the ORM warns, assumes its zone
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    {"a": [1, "b"]},
    ["x"],
)


def _outcome(prepare, value):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = prepare(value)
        except Exception as exc:  # the same failure is part of being equal
            return ("raises", type(exc)), [str(w.message) for w in caught]
    return (type(result), repr(result)), [str(w.message) for w in caught]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_prepared_values_equal_the_fields_own_for_every_field_and_kind_of_value(model):
    fields = model._meta.concrete_fields
    fast = rawsql.preparers(connection, fields)
    for field, prepare in zip(fields, fast, strict=True):
        if not type(field).__module__.startswith("django."):
            continue  # keytrade's own fields (encrypted: never equal twice) are checked below
        for value in VALUES:
            django = _outcome(lambda v, f=field: f.get_db_prep_save(v, connection), value)
            assert _outcome(prepare, value) == django, (field, value)
            one = _outcome(lambda v, f=field: rawsql.prep(connection, f, v), value)
            assert one == django, (field, value)


def test_fields_of_other_classes_are_prepared_by_the_field_itself(monkeypatch):
    field = ExchangeKey._meta.get_field("secret")
    assert type(field).__module__ == "accounts.fields"
    seen = []
    monkeypatch.setattr(field, "get_db_prep_save", lambda value, conn: seen.append(value) or "x")
    connection.__dict__.pop("_keytrade_rawsql_preparers", None)
    assert rawsql.prep_row(connection, [field], ["plain"]) == ["x"]
    assert seen == ["plain"]
    connection.__dict__.pop("_keytrade_rawsql_preparers", None)


def test_prep_row_matches_field_by_field():
    fields = AuditChainHead._meta.concrete_fields
    values = [1, 5, "f" * 64]
    assert rawsql.prep_row(connection, fields, values) == [
        f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)
    ]


def _head_sql():
    table = rawsql.table(connection, AuditChainHead)
    q = connection.ops.quote_name
    return table, q


def test_run_returns_rows_and_counts_and_is_seen_by_query_counters():
    table, q = _head_sql()
    AuditChainHead.objects.update_or_create(id=1, defaults={"last_seq": 3, "last_hash": "a" * 64})
    select = f"SELECT {q('last_seq')}, {q('last_hash')} FROM {table} WHERE {q('id')} = %s"  # noqa: S608
    assert rawsql.run(connection, select, [1], fetch="one") == (3, "a" * 64)
    assert rawsql.run(connection, select, [2], fetch="one") is None
    update = f"UPDATE {table} SET {q('last_seq')} = %s WHERE {q('id')} = %s"  # noqa: S608
    with CaptureQueriesContext(connection) as seen:
        assert rawsql.run(connection, update, [4, 1], fetch="rowcount") == 1
        assert rawsql.run(connection, update, [4, 2], fetch="rowcount") == 0
    assert [s["sql"].startswith("UPDATE") for s in seen.captured_queries] == [True, True]
    assert AuditChainHead.objects.get(id=1).last_seq == 4
    # A literal percent sign survives both routes, as through Django's cursor.
    like = f"SELECT COUNT(*) FROM {table} WHERE {q('last_hash')} LIKE %s"  # noqa: S608
    assert rawsql.run(connection, like, ["a%%"], fetch="one") == (1,)


def test_run_raises_djangos_errors_and_rolls_back_with_the_transaction():
    table, q = _head_sql()
    AuditChainHead.objects.update_or_create(id=1, defaults={"last_seq": 3})
    names = f"{q('id')}, {q('last_seq')}, {q('last_hash')}"
    insert = f"INSERT INTO {table} ({names}) VALUES (%s, %s, %s)"  # noqa: S608
    with pytest.raises(IntegrityError), transaction.atomic():
        rawsql.run(connection, insert, [1, 0, "b" * 64])
    update = f"UPDATE {table} SET {q('last_seq')} = %s WHERE {q('id')} = %s"  # noqa: S608
    with pytest.raises(RuntimeError), transaction.atomic():
        rawsql.run(connection, update, [99, 1])
        raise RuntimeError("roll back")
    assert AuditChainHead.objects.get(id=1).last_seq == 3


def test_atomic_joined_acts_as_atomic_without_a_savepoint():
    table, q = _head_sql()
    AuditChainHead.objects.update_or_create(id=1, defaults={"last_seq": 3})
    update = f"UPDATE {table} SET {q('last_seq')} = %s WHERE {q('id')} = %s"  # noqa: S608
    with transaction.atomic():
        with rawsql.atomic_joined(connection):
            rawsql.run(connection, update, [4, 1])
        assert not connection.needs_rollback
        with pytest.raises(RuntimeError), rawsql.atomic_joined(connection):
            raise RuntimeError("a failure inside the joined block")
        # As after a nested atomic(savepoint=False): the whole transaction must roll back.
        assert connection.needs_rollback
    assert AuditChainHead.objects.get(id=1).last_seq == 3


def test_loaded_builds_the_instance_from_db_builds(alice):
    from django.db.models.signals import post_init, pre_init

    fields = [f for f in get_user_model()._meta.concrete_fields if f.name in ("id", "username")]
    attnames, values = [f.attname for f in fields], [alice.pk, "alice"]
    ours = rawsql.loaded(get_user_model(), "default", attnames, values)
    django = get_user_model().from_db("default", attnames, values)
    assert type(ours) is type(django)
    assert {k: v for k, v in ours.__dict__.items() if k != "_state"} == {
        k: v for k, v in django.__dict__.items() if k != "_state"
    }
    assert (ours._state.adding, ours._state.db) == (django._state.adding, django._state.db)
    assert ours.get_deferred_fields() == django.get_deferred_fields()
    assert ours.email == alice.email  # a deferred field loads on use
    # Skipping __init__ skips its signals: equal only while nobody listens to them.
    for model in (AuditEvent, OrderIntent, ExchangeKey, Order, get_user_model()):
        assert not pre_init.has_listeners(model) and not post_init.has_listeners(model)


@pytest.mark.parametrize("use_tz", [True, False])
def test_datetimes_are_prepared_as_the_field_does_with_either_time_zone_setting(use_tz, settings):
    settings.USE_TZ = use_tz
    field = AuditEvent._meta.get_field("created_at")
    connection.__dict__.pop("_keytrade_rawsql_preparers", None)
    for value in (v for v in VALUES if isinstance(v, datetime)):
        assert _outcome(lambda v: rawsql.prep(connection, field, v), value) == _outcome(
            lambda v: field.get_db_prep_save(v, connection), value
        )

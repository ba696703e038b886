"""The order path's written-out statements answer exactly what the ORM expressions they replace.

Every order runs them; the suite runs them on SQLite and (in CI) PostgreSQL.
"""

import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import ExchangeKey
from accounts.services.keys import (
    SECRET_FIELDS,
    _credentials_raw,
    key_credentials_row,
    key_credentials_sealed,
    key_credentials_sealed_from,
)
from keytrade.rawsql import db
from tests.trading.conftest import make_trader, paper_key_for
from trading import sql
from trading.models import AccountLimits, Order, OrderIntent, TradingHalt
from trading.services import submission

pytestmark = pytest.mark.django_db
S = OrderIntent.Status


def _row(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _intent(user, key, **extra) -> OrderIntent:
    values = {
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "amount": D("0.00123"),
        "price": D("50000.5"),
    }
    intent = OrderIntent(user=user, key=key, **{**values, **extra})
    intent.save(force_insert=True)
    return intent


@pytest.fixture
def key(trader):
    return paper_key_for(trader)


def _limits_orm(user):
    return AccountLimits.objects.filter(user=user).values_list(*sql.LIMIT_VALUE_FIELDS).first()


def test_limits_values_match_the_orm_and_are_none_without_a_row(alice, bob):
    AccountLimits.objects.create(
        user=alice,
        max_order_notional=D("1234.5"),
        max_orders_per_minute=7,
        allowed_symbols=["BTC/USDT", "ETH/USDT"],
        ceiling_max_order_notional=D("0.000000000000000001"),
        ceiling_allowed_symbols=["BTC/USDT"],
        trading_halted=True,
    )

    values, recent, halted = sql.limits_values(user_id=alice.pk)

    assert repr(values) == repr(_limits_orm(alice))  # Decimal exponents and types included
    assert values[-1] is True and values[3] == ["BTC/USDT", "ETH/USDT"]
    assert recent is None and halted is None
    assert sql.limits_values(user_id=bob.pk) == (None, None, None)
    assert _limits_orm(bob) is None


def test_limits_rate_count_matches_the_orm(alice, bob, key):
    now = timezone.now()
    other_key = paper_key_for(make_trader(bob), api_key="PAPERkeyBOB3456789abcdef")
    for kind, age, user, k in [
        ("place", 5, alice, key),
        ("amend", 59, alice, key),
        ("cancel", 5, alice, key),  # cancels do not count
        ("place", 61, alice, key),  # too old
        ("place", 5, bob, other_key),  # someone else
    ]:
        intent = _intent(user, k, kind=kind)
        OrderIntent.objects.filter(pk=intent.pk).update(created_at=now - timedelta(seconds=age))
    since = now - timedelta(seconds=60)

    expected = OrderIntent.objects.filter(
        user=alice, created_at__gte=since, kind__in=["place", "amend"]
    ).count()

    values, recent, halted = sql.limits_values(user_id=alice.pk, placed_since=since)
    assert recent == expected == 2
    assert values is None and halted is None
    # With a limits row too, and the halt asked for at the same time.
    AccountLimits.objects.create(user=alice, max_orders_per_minute=3)
    values, recent, halted = sql.limits_values(user_id=alice.pk, placed_since=since, with_halt=True)
    assert repr(values) == repr(_limits_orm(alice)) and recent == 2 and halted is False


@pytest.mark.parametrize("row", [None, False, True])
@pytest.mark.parametrize("limits", [False, True])
def test_halt_check_matches_the_orm(row, limits, alice):
    TradingHalt.objects.all().delete()
    if row is not None:
        TradingHalt.objects.create(pk=1, active=row)
    if limits:
        AccountLimits.objects.create(user=alice, trading_halted=True)

    values, recent, halted = sql.limits_values(user_id=alice.pk, with_halt=True)

    assert halted is TradingHalt.objects.filter(pk=1, active=True).exists()
    assert halted is bool(row)
    assert repr(values) == repr(_limits_orm(alice)) and recent is None


def test_intent_insert_writes_what_save_writes(alice, key):
    fields = {"symbol": "ETH/USDT", "side": "sell", "type": "limit", "amount": D("1.5")}
    by_orm = OrderIntent(user=alice, key=key, price=D("3000.25"), bot_tag="grid", **fields)
    by_orm.save(force_insert=True)
    by_sql = OrderIntent(user=alice, key=key, price=D("3000.25"), bot_tag="grid", **fields)

    sql.intent_insert(by_sql)

    stored = OrderIntent.objects.get(pk=by_sql.pk)
    assert stored.client_order_id == by_sql.client_order_id != ""
    assert not by_sql._state.adding
    differ = {"id", "client_order_id", "created_at", "updated_at"}
    assert {k: v for k, v in _row(stored).items() if k not in differ} == {
        k: v for k, v in _row(OrderIntent.objects.get(pk=by_orm.pk)).items() if k not in differ
    }
    assert stored.created_at == by_sql.created_at and stored.updated_at == by_sql.updated_at
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.intent_insert(by_sql)  # the same id again: the database still enforces uniqueness


def test_claim_matches_the_orm_update_and_happens_once(alice, key):
    ours, theirs = _intent(alice, key), _intent(alice, key)
    now = timezone.now()

    assert sql.intent_claim(intent_id=str(ours.pk), worker="w1", now=now) is True
    OrderIntent.objects.filter(pk=theirs.pk, status=S.NEW).update(
        status=S.SUBMITTING,
        attempt=F("attempt") + 1,
        claimed_at=now,
        claimed_by="w1",
        retry_at=None,
        updated_at=now,
    )

    a, b = OrderIntent.objects.get(pk=ours.pk), OrderIntent.objects.get(pk=theirs.pk)
    same = {"status", "attempt", "claimed_at", "claimed_by", "retry_at", "updated_at"}
    assert {k: _row(a)[k] for k in same} == {k: _row(b)[k] for k in same}
    assert a.status == S.SUBMITTING and a.attempt == 1
    # A duplicate delivery finds the row claimed: no second claim.
    assert sql.intent_claim(intent_id=ours.pk, worker="w2", now=now) is False
    assert OrderIntent.objects.get(pk=ours.pk).claimed_by == "w1"


def test_move_matches_the_orm_update(alice, key):
    ours, theirs = _intent(alice, key), _intent(alice, key)
    now = timezone.now()

    def fields(exchange_order_id):
        return {
            "exchange_order_id": exchange_order_id,
            "filled": D("0.0005"),
            "average": D("49999.99"),
            "fee": None,
            "fee_currency": "BNB",
            "retry_at": now + timedelta(seconds=3),
        }

    moved = sql.intent_move(
        intent_id=ours.pk, to=S.OPEN, frm=(S.NEW, S.UNKNOWN), now=now, fields=fields("123")
    )
    OrderIntent.objects.filter(pk=theirs.pk, status__in=(S.NEW, S.UNKNOWN)).update(
        status=S.OPEN, updated_at=now, **fields("124")
    )

    differ = {"id", "client_order_id", "created_at", "exchange_order_id"}
    a, b = _row(OrderIntent.objects.get(pk=ours.pk)), _row(OrderIntent.objects.get(pk=theirs.pk))
    assert moved == 1 and a["exchange_order_id"] == "123"
    assert {k: v for k, v in a.items() if k not in differ} == {
        k: v for k, v in b.items() if k not in differ
    }
    # Not in one of the expected states: nothing changes.
    assert sql.intent_move(intent_id=ours.pk, to=S.REJECTED, frm=(S.NEW,), now=now, fields={}) == 0
    assert OrderIntent.objects.get(pk=ours.pk).status == S.OPEN


def _same_instance(found, expected) -> None:
    # Deferred fields first: reading one would load it.
    deferred = found.get_deferred_fields()
    assert deferred == expected.get_deferred_fields()
    loaded = [f.attname for f in type(found)._meta.concrete_fields if f.attname not in deferred]
    assert {n: getattr(found, n) for n in loaded} == {n: getattr(expected, n) for n in loaded}


@pytest.mark.parametrize("with_target", [False, True])
def test_worker_read_matches_the_orm_query(alice, key, with_target):
    target = None
    if with_target:
        target = Order.objects.create(
            key=key,
            exchange_order_id="77",
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            status="open",
            price=D("1"),
            amount=D("2"),
        )
    intent = _intent(alice, key, kind="amend" if with_target else "place", target_order=target)

    claimed = sql.intent_for_worker(intent_id=str(intent.pk))
    found = claimed.intent
    expected = submission._intents().get(pk=intent.pk)

    # The key's credentials are not loaded into the key (they come back as stored, apart).
    assert set(SECRET_FIELDS) <= found.key.get_deferred_fields()
    assert claimed.credentials == _credentials_raw(db(), key.pk)
    assert all(str(part) not in repr(claimed) for part in claimed.credentials if part)
    assert key_credentials_sealed_from(
        key_id=key.pk, row=claimed.credentials
    ) == key_credentials_sealed(key_id=key.pk)
    _same_instance(found, expected)
    _same_instance(found.key, expected.key)
    _same_instance(found.user, expected.user)
    assert found.user.username == "alice" and found.key.status == "active"
    if with_target:
        _same_instance(found.target_order, expected.target_order)
        assert found.target_order.exchange_order_id == "77"
    else:
        assert found.target_order is None and expected.target_order is None
    # No limits row and no halt here; the test below covers both.
    assert (claimed.limits, claimed.halted) == sql.limits_values(user_id=alice.pk, with_halt=True)[
        ::2
    ]
    assert sql.intent_for_worker(intent_id=uuid.uuid4()) is None


@pytest.mark.parametrize("halted", [False, True])
def test_worker_read_has_the_users_limits_and_the_global_halt(alice, bob, key, halted):
    AccountLimits.objects.create(
        user=alice,
        max_order_notional=D("1234.5"),
        max_orders_per_minute=7,
        allowed_symbols=["BTC/USDT"],
        ceiling_max_order_notional=D("0.000000000000000001"),
        trading_halted=True,
    )
    AccountLimits.objects.create(user=bob, max_orders_per_minute=1)
    TradingHalt.objects.update_or_create(pk=1, defaults={"active": halted, "reason": "x"})
    claimed = sql.intent_for_worker(intent_id=_intent(alice, key).pk)
    assert repr(claimed.limits) == repr(_limits_orm(alice))
    assert claimed.halted is halted is TradingHalt.objects.filter(pk=1, active=True).exists()
    assert claimed.intent.user.username == "alice"


def test_worker_objects_are_built_as_from_db_builds_them(alice, key):
    from django.db.models.signals import post_init, pre_init

    intent = sql.intent_for_worker(intent_id=_intent(alice, key).pk).intent
    for obj in (intent, intent.key, intent.user):
        assert (obj._state.adding, obj._state.db) == (False, "default")
    # Loading a deferred field works as on any ORM instance.
    assert intent.key.created_at == ExchangeKey.objects.get(pk=key.pk).created_at
    # They skip Model.__init__'s signals, which is equal only while nobody listens to them.
    for model in (OrderIntent, ExchangeKey, Order, type(alice)):
        assert not pre_init.has_listeners(model) and not post_init.has_listeners(model)


def test_worker_read_loads_the_fields_the_orm_query_names():
    by_model = {
        "key": sql.CLAIM_KEY_FIELDS,
        "user": sql.CLAIM_USER_FIELDS,
        "target_order": sql.CLAIM_ORDER_FIELDS,
    }
    named = {(r.split("__")[0], r.split("__")[1]) for r in submission._RELATED_FIELDS}
    assert named | {(rel, "id") for rel in by_model} == {
        (rel, name) for rel, names in by_model.items() for name in names
    }


def test_order_insert_writes_what_create_writes(alice, key):
    values = {
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "status": "open",
        "price": D("50000"),
        "amount": D("0.001"),
        "filled": D("0"),
        "average": None,
        "client_order_id": "kt1",
        "placed_at": timezone.now(),
    }
    intent = _intent(alice, key)
    by_orm = Order.objects.create(key=key, exchange_order_id="1", intent=intent, **values)

    by_sql = sql.order_insert(key=key, exchange_order_id="2", intent=intent, **values)
    assert by_sql is not None

    differ = {"id", "exchange_order_id", "updated_at"}
    a, b = _row(Order.objects.get(pk=by_sql.pk)), _row(Order.objects.get(pk=by_orm.pk))
    assert {k: v for k, v in a.items() if k not in differ} == {
        k: v for k, v in b.items() if k not in differ
    }
    assert a["updated_at"] == by_sql.updated_at
    # The instance returned is the saved row, as create() returns it.
    assert _row(by_sql) == a
    assert (by_sql._state.adding, by_sql._state.db) == (False, "default")
    assert by_sql.key is key and by_sql.intent is intent
    # Fields not given get their defaults, as in create().
    few = {"symbol": "ETH/USDT", "status": "open"}
    bare = sql.order_insert(key=key, exchange_order_id="9", **few)
    bare_orm = Order.objects.create(key=key, exchange_order_id="10", **few)
    a, b = _row(Order.objects.get(pk=bare.pk)), _row(Order.objects.get(pk=bare_orm.pk))
    assert {k: v for k, v in a.items() if k not in differ} == {
        k: v for k, v in b.items() if k not in differ
    }
    assert bare.intent is None
    # Unique per key and exchange id: a second row is skipped, without an IntegrityError (so
    # the surrounding transaction stays usable on PostgreSQL too).
    with transaction.atomic():
        again = sql.order_insert(key=key, exchange_order_id="2", **{**values, "status": "closed"})
        assert again is None
        assert Order.objects.filter(key=key, exchange_order_id="2").count() == 1
    assert Order.objects.get(key=key, exchange_order_id="2").status == "open"
    with pytest.raises(IntegrityError), transaction.atomic():  # other constraints still hold
        sql.order_insert(key=key, exchange_order_id="3", **{**values, "symbol": None})


def test_credentials_read_matches_the_orm_and_decrypts(alice, key):
    expected = ExchangeKey.objects.filter(pk=key.pk).values_list("status", *SECRET_FIELDS).first()

    found = key_credentials_row(key_id=str(key.pk))

    assert found == expected
    assert found[1:3] == ("PAPERkey0123456789abcdef", "PAPERsecret0123456789abc")
    assert key_credentials_row(key_id=uuid.uuid4()) is None

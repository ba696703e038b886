"""The hot-path statements answer exactly what the ORM expressions they replace answer.

They run on every signed request; the suite runs them on SQLite and (in CI) PostgreSQL.
"""

import sqlite3
import threading
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paper import sql
from paper.clock import clock_read
from paper.errors import PaperError
from paper.models import PaperAccount, PaperApiKey, PaperBalance, PaperOrder
from paper.services.accounts import account_get_or_create
from paper.services.keys import key_create
from paper.services.ledger import Ledger, SqliteWriterQueue, ledger_transaction
from paper.services.orders import order_cancel, order_place, order_request_parse

pytestmark = pytest.mark.django_db


def _limit(price="10000", qty="0.001", symbol="BTCUSDT", type_="LIMIT", client_id=None):
    params = {"symbol": symbol, "side": "BUY", "type": type_, "quantity": qty, "price": price}
    if type_ == "LIMIT":
        params["timeInForce"] = "GTC"
    if client_id:
        params["newClientOrderId"] = client_id
    return order_request_parse(params)


def _place(account, **kwargs) -> PaperOrder:
    return order_place(account_id=account.pk, req=_limit(**kwargs), now=clock_read())[0]


def _fields(obj, names):
    return {name: getattr(obj, name) for name in names}


KEY_FIELDS = [f.attname for f in PaperApiKey._meta.concrete_fields]
ORDER_FIELDS = [f.attname for f in PaperOrder._meta.concrete_fields]
BALANCE_FIELDS = [f.attname for f in PaperBalance._meta.concrete_fields]


def _watched(call):
    """Run `call` while an execute wrapper watches; return (its result, [(sql, params)])."""
    seen = []

    def record(execute, sql_text, params, many, context):
        seen.append((sql_text, params))
        return execute(sql_text, params, many, context)

    with connection.execute_wrapper(record):
        return call(), seen


def test_key_lookup_matches_the_orm_including_the_decrypted_secret(alice):
    account = account_get_or_create(user=alice)
    key, secret = key_create(
        account=account,
        label="bot",
        can_trade=True,
        ip_whitelist=["10.0.0.0/8"],
        expires_at=timezone.now() + timedelta(days=3),
    )
    open_orders = PaperOrder.objects.filter(
        account_id=OuterRef("account_id"), status__in=PaperOrder.OPEN_STATUSES
    )
    expected = PaperApiKey.objects.annotate(has_open_orders=Exists(open_orders))

    found = sql.key_with_open_orders(api_key=key.api_key)
    assert _fields(found, KEY_FIELDS) == _fields(expected.get(api_key=key.api_key), KEY_FIELDS)
    assert found.secret == secret and found.ip_whitelist == ["10.0.0.0/8"]
    assert found.has_open_orders is False

    order = _place(account)
    assert sql.key_with_open_orders(api_key=key.api_key).has_open_orders is True
    order_cancel(account_id=account.pk, symbol="BTCUSDT", order_id=order.pk, now=clock_read())
    assert sql.key_with_open_orders(api_key=key.api_key).has_open_orders is False
    assert sql.key_with_open_orders(api_key="x" * 64) is None


def test_balances_are_read_and_written_to_the_last_unit(alice):
    account = account_get_or_create(user=alice)
    rows = sql.balances_for_update(account_id=account.pk, assets=["USDT", "BTC"])
    expected = PaperBalance.objects.filter(account=account, asset__in=["USDT", "BTC"])
    assert [(r.pk, r.asset, r.free, r.locked) for r in rows] == [
        (r.pk, r.asset, r.free, r.locked) for r in expected.order_by("asset")
    ]
    assert [r.asset for r in rows] == ["BTC", "USDT"]
    assert sql.balances_for_update(account_id=account.pk, assets=[]) == []

    rows[0].free, rows[0].locked = D("0.00000001"), D("12345.12345678")
    sql.balances_save(rows=[rows[0]])
    stored = PaperBalance.objects.get(pk=rows[0].pk)
    assert (stored.free, stored.locked) == (D("0.00000001"), D("12345.12345678"))
    # Stored exactly as the ORM's save stores it, whatever the database's precision.
    huge = D("123456789012345678901234.12345678")
    rows[0].free = huge
    sql.balances_save(rows=[rows[0]])
    orm_row = PaperBalance.objects.get(pk=rows[1].pk)
    orm_row.free = huge
    orm_row.save(update_fields=["free"])
    assert (
        PaperBalance.objects.get(pk=rows[0].pk).free == PaperBalance.objects.get(pk=rows[1].pk).free
    )
    orm_row.free = D("10000")
    orm_row.save(update_fields=["free"])
    assert PaperBalance.objects.get(pk=rows[1].pk).free == D("10000")  # untouched


def test_ledger_moves_balances_through_the_statements(alice):
    account = account_get_or_create(user=alice)
    with ledger_transaction(account_id=account.pk):
        ledger = Ledger(account_id=account.pk, assets=["USDT", "SOL"])  # SOL: no row yet
        ledger.lock("USDT", D("2500.5"))
        ledger.credit("SOL", D("1.25"))
        ledger.save()
    balances = {b.asset: (b.free, b.locked) for b in PaperBalance.objects.filter(account=account)}
    assert balances["USDT"] == (D("7499.5"), D("2500.5"))
    assert balances["SOL"] == (D("1.25"), D("0"))


def test_account_lock_bumps_the_write_sequence(alice):
    account = account_get_or_create(user=alice)
    sql.account_write_seq_bump(account_id=account.pk)
    sql.account_write_seq_bump(account_id=account.pk)
    assert PaperAccount.objects.values_list("write_seq", flat=True).get(pk=account.pk) == (
        account.write_seq + 2
    )
    assert PaperAccount.objects.filter(pk=account.pk, write_seq=F("write_seq")).exists()


def test_order_lookup_for_cancel_is_scoped_to_account_and_symbol(alice, bob):
    mine, theirs = account_get_or_create(user=alice), account_get_or_create(user=bob)
    order = _place(mine)
    found = sql.order_for_update(account_id=mine.pk, symbol="BTCUSDT", order_id=order.pk)
    assert _fields(found, ORDER_FIELDS) == _fields(
        PaperOrder.objects.get(pk=order.pk), ORDER_FIELDS
    )
    assert sql.order_for_update(account_id=theirs.pk, symbol="BTCUSDT", order_id=order.pk) is None
    assert sql.order_for_update(account_id=mine.pk, symbol="ETHUSDT", order_id=order.pk) is None
    assert (
        sql.order_for_update(account_id=mine.pk, symbol="BTCUSDT", order_id=order.pk + 1000) is None
    )


def test_client_order_id_is_taken_only_by_an_open_order_of_the_account(alice, bob):
    mine, theirs = account_get_or_create(user=alice), account_get_or_create(user=bob)
    order = _place(mine, client_id="grid-1")
    assert sql.open_client_id_taken(account_id=mine.pk, client_order_id="grid-1")
    assert not sql.open_client_id_taken(account_id=theirs.pk, client_order_id="grid-1")
    assert not sql.open_client_id_taken(account_id=mine.pk, client_order_id="grid-2")
    order_cancel(account_id=mine.pk, symbol="BTCUSDT", order_id=order.pk, now=clock_read())
    assert not sql.open_client_id_taken(account_id=mine.pk, client_order_id="grid-1")


def test_resting_orders_are_the_open_limit_orders_in_id_order(alice, bob):
    mine, theirs = account_get_or_create(user=alice), account_get_or_create(user=bob)
    first = _place(mine)
    maker = _place(mine, type_="LIMIT_MAKER", price="11000")
    eth = _place(mine, symbol="ETHUSDT", price="100", qty="0.1")
    gone = _place(mine, price="9000")
    order_cancel(account_id=mine.pk, symbol="BTCUSDT", order_id=gone.pk, now=clock_read())
    _place(theirs)

    def orm(symbol=None):
        orders = PaperOrder.objects.filter(
            account_id=mine.pk,
            status__in=PaperOrder.OPEN_STATUSES,
            type__in=[PaperOrder.Type.LIMIT, PaperOrder.Type.LIMIT_MAKER],
        )
        return list(orders.filter(symbol=symbol) if symbol else orders.order_by("id"))

    assert [o.pk for o in sql.resting_orders(account_id=mine.pk)] == [first.pk, maker.pk, eth.pk]
    assert [o.pk for o in sql.resting_orders(account_id=mine.pk)] == [o.pk for o in orm()]
    assert [o.pk for o in sql.resting_orders(account_id=mine.pk, symbol="BTCUSDT")] == [
        first.pk,
        maker.pk,
    ]
    assert [
        _fields(o, ORDER_FIELDS) for o in sql.resting_orders(account_id=mine.pk, symbol="ETHUSDT")
    ] == [_fields(o, ORDER_FIELDS) for o in orm("ETHUSDT")]


def _new_order(account, **changes) -> PaperOrder:
    values = {
        "account_id": account.pk,
        "symbol": "BTCUSDT",
        "client_order_id": "grid-7",
        "side": "SELL",
        "type": "LIMIT",
        "time_in_force": "GTC",
        "price": D("65000.12"),
        "orig_qty": D("0.12345678"),
        "executed_qty": D("0.00000001"),
        "cumm_quote_qty": D("0.65000120"),
        "status": "PARTIALLY_FILLED",
        "locked_asset": "BTC",
        "locked_amount": D("0.12345677"),
        "created_ms": 1_795_345_693_675,
        "updated_ms": 1_795_345_693_999,
        "checked_minute": 29_922_428,
    }
    return PaperOrder(**{**values, **changes})


def test_order_insert_stores_what_the_orm_save_stores(alice):
    account = account_get_or_create(user=alice)
    by_orm, by_sql = _new_order(account, client_order_id="a"), _new_order(account)
    by_orm.save()
    sql.order_insert(order=by_sql)

    assert by_sql.pk is not None and by_sql.pk != by_orm.pk
    assert not by_sql._state.adding
    stored = {o.pk: o for o in PaperOrder.objects.filter(pk__in=[by_orm.pk, by_sql.pk])}
    fields = [name for name in ORDER_FIELDS if name not in ("id", "client_order_id")]
    assert _fields(stored[by_sql.pk], fields) == _fields(stored[by_orm.pk], fields)
    assert stored[by_sql.pk].client_order_id == "grid-7"
    # The instance is a saved row: later ORM saves update it instead of inserting.
    by_sql.status = "FILLED"
    by_sql.save(update_fields=["status"])
    assert PaperOrder.objects.get(pk=by_sql.pk).status == "FILLED"
    assert PaperOrder.objects.count() == 2


def test_order_insert_hits_the_open_client_id_constraint(alice):
    """order_place turns this IntegrityError into Binance's "Duplicate order sent."."""
    account = account_get_or_create(user=alice)
    sql.order_insert(order=_new_order(account))
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.order_insert(order=_new_order(account))
    sql.order_insert(order=_new_order(account, status="CANCELED"))  # closed: no conflict
    assert PaperOrder.objects.filter(client_order_id="grid-7").count() == 2


def test_cancel_save_writes_status_lock_and_time_only(alice):
    account = account_get_or_create(user=alice)
    order = _new_order(account)
    sql.order_insert(order=order)
    before = _fields(PaperOrder.objects.get(pk=order.pk), ORDER_FIELDS)
    order.status, order.locked_amount, order.updated_ms = "CANCELED", D(0), 1_795_345_700_000
    order.executed_qty = D("0.1")  # not written by a cancel
    sql.order_cancel_save(order=order)

    after = _fields(PaperOrder.objects.get(pk=order.pk), ORDER_FIELDS)
    changed = {name for name in ORDER_FIELDS if after[name] != before[name]}
    assert changed == {"status", "locked_amount", "updated_ms"}
    assert (after["status"], after["locked_amount"], after["updated_ms"]) == (
        "CANCELED",
        D(0),
        1_795_345_700_000,
    )


def test_rows_are_built_with_the_fields_converters(alice):
    """Decimals to 8 places, booleans, JSON and the decrypted secret, as the ORM gives them."""
    account = account_get_or_create(user=alice)
    key, secret = key_create(account=account, label="k", ip_whitelist=["192.0.2.1"])
    found = sql.key_with_open_orders(api_key=key.api_key)
    stored = PaperApiKey.objects.get(pk=key.pk)
    for name in KEY_FIELDS:
        assert type(getattr(found, name)) is type(getattr(stored, name)), name
    assert (found.secret, found.can_trade, found.ip_whitelist) == (secret, False, ["192.0.2.1/32"])
    assert found._state.db == "default" and not found._state.adding

    order = _new_order(account)
    sql.order_insert(order=order)
    loaded = sql.order_for_update(account_id=account.pk, symbol="BTCUSDT", order_id=order.pk)
    orm = PaperOrder.objects.get(pk=order.pk)
    assert [(n, str(getattr(loaded, n))) for n in ORDER_FIELDS] == [
        (n, str(getattr(orm, n))) for n in ORDER_FIELDS
    ]


@pytest.mark.django_db(False)
def test_writer_queue_makes_other_processes_wait_their_turn(tmp_path):
    """Two queues open the lock file separately, as two server processes do."""
    database = str(tmp_path / "db.sqlite3")
    first, second = SqliteWriterQueue(), SqliteWriterQueue()
    events = []
    holding = threading.Event()

    def other_process():
        holding.wait()
        with second.turn(database):
            events.append("second writes")

    thread = threading.Thread(target=other_process)
    thread.start()
    with first.turn(database):
        holding.set()
        thread.join(timeout=0.3)
        assert thread.is_alive()  # still waiting for the lock file
        events.append("first commits")
    thread.join(timeout=5)
    assert events == ["first commits", "second writes"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_open_order_lookups_do_not_walk_the_accounts_order_history(alice):
    """Every signed request asks whether its account has open orders, and reads them if so:
    those searches must narrow by status (an index), not by account alone, or each request
    costs more with every order the account ever placed."""
    account = account_get_or_create(user=alice)
    key, _secret = key_create(account=account, label="bot", can_trade=True)
    _place(account)
    lookups = [
        lambda: sql.key_with_open_orders(api_key=key.api_key),
        lambda: sql.resting_orders(account_id=account.pk),
        lambda: sql.resting_orders(account_id=account.pk, symbol="BTCUSDT"),
        lambda: sql.open_client_id_taken(account_id=account.pk, client_order_id="grid-1"),
    ]
    for lookup in lookups:
        _result, [(text, params)] = _watched(lookup)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + text, params)
            plan = [row[3] for row in cursor.fetchall()]
        assert not [step for step in plan if step.startswith("SCAN")], plan
        searches = [step for step in plan if step.startswith("SEARCH")]
        assert searches and not [s for s in searches if s.endswith("(account_id=?)")], plan


def test_statements_answer_the_same_directly_and_through_djangos_cursor(alice):
    """On SQLite the statements skip Django's cursor wrapper unless something watches the
    queries; either way they answer the same, and watched queries are all seen."""
    account = account_get_or_create(user=alice)
    key, _secret = key_create(account=account, label="bot", can_trade=True)
    order = _place(account, client_id="grid-1")
    key_fields = [*KEY_FIELDS, "has_open_orders"]
    lookups = [
        lambda: _fields(sql.key_with_open_orders(api_key=key.api_key), key_fields),
        lambda: [_fields(o, ORDER_FIELDS) for o in sql.resting_orders(account_id=account.pk)],
        lambda: [
            _fields(b, BALANCE_FIELDS)
            for b in sql.balances_for_update(account_id=account.pk, assets=["BTC", "USDT"])
        ],
        lambda: _fields(
            sql.order_for_update(account_id=account.pk, symbol="BTCUSDT", order_id=order.pk),
            ORDER_FIELDS,
        ),
        lambda: sql.open_client_id_taken(account_id=account.pk, client_order_id="grid-1"),
    ]
    assert sql._direct(connection) is (connection.vendor == "sqlite")
    for lookup in lookups:
        direct = lookup()
        watched, statements = _watched(lookup)
        assert watched == direct
        assert len(statements) == 1


def test_order_writes_stay_visible_to_djangos_query_capture(alice):
    account = account_get_or_create(user=alice)
    with CaptureQueriesContext(connection) as captured:
        order = _place(account)
        order_cancel(account_id=account.pk, symbol="BTCUSDT", order_id=order.pk, now=clock_read())
    statements = [q["sql"] for q in captured.captured_queries]
    assert any(s.startswith("INSERT INTO") and "paper_paperorder" in s for s in statements)
    assert sum(s.startswith("UPDATE") and "paper_paperbalance" in s for s in statements) == 2
    order.refresh_from_db()
    assert order.status == PaperOrder.Status.CANCELED


def test_rows_are_the_instances_from_db_builds(alice):
    """The loader builds instances directly (no __init__) only as `Model.from_db` would."""
    account = account_get_or_create(user=alice)
    key, _secret = key_create(account=account, label="bot", can_trade=True)
    order = _place(account)
    loaded = [
        sql.key_with_open_orders(api_key=key.api_key),
        *sql.balances_for_update(account_id=account.pk, assets=["BTC", "USDT"]),
        sql.order_for_update(account_id=account.pk, symbol="BTCUSDT", order_id=order.pk),
    ]
    for instance in loaded:
        model = type(instance)
        names = [f.attname for f in model._meta.concrete_fields]
        built = model.from_db("default", None, [getattr(instance, n) for n in names])
        extra = {"has_open_orders": True} if model is PaperApiKey else {}
        assert list(instance.__dict__) == [*built.__dict__, *extra]
        assert {n: v for n, v in instance.__dict__.items() if n != "_state"} == {
            **{n: v for n, v in built.__dict__.items() if n != "_state"},
            **extra,
        }
        assert (instance._state.db, instance._state.adding) == ("default", False)
        assert instance.account == account  # related objects load as usual


def test_rows_go_through_init_when_someone_listens_to_its_signals(alice):
    account = account_get_or_create(user=alice)
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.asset)

    post_init.connect(receiver, sender=PaperBalance)
    try:
        rows = sql.balances_for_update(account_id=account.pk, assets=["BTC", "USDT"])
    finally:
        post_init.disconnect(receiver, sender=PaperBalance)
    assert seen == ["BTC", "USDT"] == [row.asset for row in rows]


def test_ledger_transaction_inside_another_locks_the_account_row(alice):
    account = account_get_or_create(user=alice)
    with transaction.atomic(), ledger_transaction(account_id=account.pk):
        pass
    assert PaperAccount.objects.get(pk=account.pk).write_seq == account.write_seq + 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's BEGIN IMMEDIATE")
@pytest.mark.django_db(transaction=True)
def test_sqlite_ledger_transaction_holds_the_write_lock_from_its_start(alice):
    """No statement needed: another writer is locked out from BEGIN on, so a ledger
    transaction never has to upgrade a read lock (which SQLite may refuse)."""
    account = account_get_or_create(user=alice)
    with CaptureQueriesContext(connection) as captured:
        with ledger_transaction(account_id=account.pk):
            other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    assert [q["sql"] for q in captured.captured_queries] == ["BEGIN IMMEDIATE", "COMMIT"]
    assert connection.transaction_mode is None  # the configured mode again
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        PaperAccount.objects.filter(pk=account.pk).exists()
    assert captured.captured_queries[0]["sql"] == "BEGIN"


def test_a_reused_open_client_id_is_a_duplicate_whatever_else_is_wrong(alice):
    """The INSERT's constraint refuses it; an order failing for another reason looks the id
    up first, so the answer is "Duplicate order sent." either way, as Binance's."""
    account = account_get_or_create(user=alice)
    _place(account, client_id="grid-1")
    with pytest.raises(PaperError) as duplicate:
        _place(account, client_id="grid-1")
    with pytest.raises(PaperError) as also_beyond_the_balance:
        _place(account, client_id="grid-1", qty="5")  # 50,000 USDT of 10,000
    with pytest.raises(PaperError) as only_beyond_the_balance:
        _place(account, client_id="grid-2", qty="5")
    assert duplicate.value.body() == PaperError.duplicate_order().body()
    assert also_beyond_the_balance.value.body() == PaperError.duplicate_order().body()
    assert only_beyond_the_balance.value.body() == PaperError.insufficient_balance().body()
    assert PaperOrder.objects.filter(account=account).count() == 1
    assert {b.asset: b.locked for b in PaperBalance.objects.filter(account=account)}["USDT"] == (
        D("10")
    )

"""The statements every signed request runs, written once instead of built by the ORM.

Measured in process (bench/paper_inprocess.py): building these queries with the ORM cost
several times what running them does (about 1 ms of CPU each for a lookup SQLite answers in
0.05 ms), and they made up most of a signed order request. Each function states the ORM
expression it replaces; tests/paper/test_sql.py checks each against it, and the whole
suite runs on SQLite and PostgreSQL.

Rows come back as model instances built the way `Model.objects.raw()` builds them (the
backend's and the fields' converters: decimals, booleans, JSON, decryption, then
`Model.from_db`), but the converters for a statement's columns are looked up once per process
instead of on every query. Statement texts are built once per database vendor too.

Only quoted table and column names from the models' _meta and "%s" placeholders are
interpolated.

On SQLite the statements run on the DB-API connection Django holds, with their placeholders
converted once (`_run`): Django's cursor wrapper converted each statement's placeholders with a
regular expression and passed several thread-local lookups, about 20 us a statement on top of
the 5-15 us SQLite takes. Everything else Django's `cursor()` does still happens (health check,
connect on first use, thread-sharing and broken-transaction checks, errors translated into
django.db's exceptions), inside Django's transactions. Whenever something observes Django's
queries (`connection.execute_wrapper`, a debug cursor such as assertNumQueries), and on
PostgreSQL, they go through Django's cursor as before.
"""

import inspect
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.dispatch.dispatcher import NO_RECEIVERS

from paper.models import PaperAccount, PaperApiKey, PaperBalance, PaperOrder

OPEN = [str(status) for status in PaperOrder.OPEN_STATUSES]
RESTING_TYPES = [str(PaperOrder.Type.LIMIT), str(PaperOrder.Type.LIMIT_MAKER)]
# The columns a cancel changes (order_cancel_locked).
CANCEL_FIELDS = ("status", "locked_amount", "updated_ms")

_statements: dict[tuple, str] = {}
_loaders: dict[tuple, Callable] = {}
_qmark_texts: dict[str, str] = {}


def _qmark(text: str) -> str:
    """A statement's text with SQLite's "?" placeholders, converted once per text."""
    converted = _qmark_texts.get(text)
    if converted is None:
        # As Django's SQLite cursor converts them (SQLiteCursorWrapper.convert_query).
        converted = _qmark_texts[text] = FORMAT_QMARK_REGEX.sub("?", text).replace("%%", "%")
    return converted


def _direct(db) -> bool:
    """Whether statements may skip Django's cursor wrapper (SQLite, nobody watching)."""
    return db.vendor == "sqlite" and not db.execute_wrappers and not db.queries_logged


def _dbapi_connection(db):
    """Django's open DB-API connection, after the checks Django's `cursor()` makes."""
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    db.validate_no_broken_transaction()
    return db.connection


def _run(db, text: str, params, *, fetch: str | None = None):
    """Execute one statement; return (description, rows) for fetch="all", the first row for
    fetch="one", else SQLite's lastrowid when run directly (None through Django's cursor)."""
    if _direct(db):
        raw = _dbapi_connection(db)
        with db.wrap_database_errors:
            cursor = raw.execute(_qmark(text), params)
            try:
                if fetch == "all":
                    return cursor.description, cursor.fetchall()
                if fetch == "one":
                    return cursor.fetchone()
                return cursor.lastrowid
            finally:
                cursor.close()
    with db.cursor() as cursor:
        cursor.execute(text, params)
        if fetch == "all":
            return cursor.description, cursor.fetchall()
        if fetch == "one":
            return cursor.fetchone()
        return None


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(count: int) -> str:
    return ", ".join(["%s"] * count)


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _statement(db, name: str, build: Callable[[], str], *shape) -> str:
    """The text of a statement, built once per vendor (and shape, e.g. a number of values)."""
    key = (db.vendor, name, *shape)
    text = _statements.get(key)
    if text is None:
        text = _statements[key] = build()
    return text


def _plain_init(model) -> bool:
    """Whether `Model.__init__` given every field's value only stores each in the instance's
    __dict__: no custom __init__, and each field's class attribute a plain deferred-loading
    descriptor (a foreign key's also drops a cached related object, which a new instance
    cannot have)."""
    if model.__init__ is not Model.__init__ or model._meta.abstract:
        return False
    plain = (DeferredAttribute, ForeignKeyDeferredAttribute)
    return all(
        type(inspect.getattr_static(model, f.attname, None)) in plain
        for f in model._meta.concrete_fields
    )


def _no_init_receivers(model) -> bool:
    """Whether `Model.__init__` would send pre_init and post_init to nobody (their own test)."""
    return (
        not pre_init.receivers or pre_init.sender_receivers_cache.get(model) is NO_RECEIVERS
    ) and (not post_init.receivers or post_init.sender_receivers_cache.get(model) is NO_RECEIVERS)


def _make_loader(db, model, columns: tuple[str, ...]) -> Callable:
    """A function turning one row into an instance, as RawModelIterable does.

    The instance is the one `Model.from_db` builds. When `__init__` would only send signals
    nobody receives and store each value in the instance's __dict__ (checked once for the
    model, and the receivers on every row), the loader builds it directly: a fifth of the
    CPU of loading the rows of a signed request went to `__init__`'s generic argument
    handling and the two signals.
    """
    by_column = {f.column: f for f in model._meta.concrete_fields}
    missing = set(by_column) - set(columns)
    if missing:
        raise ValueError(f"{model.__name__} rows need every column; missing {sorted(missing)}")
    converters = []  # (position, [converter, ...], expression), as compiler.get_converters
    for position, column in enumerate(columns):
        field = by_column.get(column)
        if field is not None:
            expression = field.get_col(model._meta.db_table)
            found = db.ops.get_db_converters(expression)
            found += expression.get_db_converters(db)
            if found:
                converters.append((position, found, expression))
    order = [columns.index(f.column) for f in model._meta.concrete_fields]
    attnames = [f.attname for f in model._meta.concrete_fields]
    extras = [(pos, c) for pos, c in enumerate(columns) if c not in by_column]
    alias, from_db, plain = db.alias, model.from_db, _plain_init(model)
    new = model.__new__

    def load(row, db):  # the connection of the thread reading the row, as the ORM passes it
        values = list(row)
        for position, functions, expression in converters:
            value = values[position]
            for convert in functions:
                value = convert(value, expression, db)
            values[position] = value
        ordered = [values[pos] for pos in order]
        if plain and _no_init_receivers(model):
            instance = new(model)
            state = instance._state = ModelState()
            state.adding, state.db = False, alias  # as from_db sets them
            instance.__dict__.update(zip(attnames, ordered, strict=True))
        else:
            instance = from_db(alias, None, ordered)
        for position, column in extras:
            setattr(instance, column, values[position])
        return instance

    return load


def _fetch(db, model, sql: str, params) -> list:
    description, rows = _run(db, sql, params, fetch="all")
    columns = tuple(column[0] for column in description)
    key = (db.alias, model, columns)
    load = _loaders.get(key)
    if load is None:
        load = _loaders[key] = _make_loader(db, model, columns)
    return [load(row, db) for row in rows]


def key_with_open_orders(*, api_key: str) -> PaperApiKey | None:
    """`PaperApiKey.objects.annotate(has_open_orders=Exists(open orders of its account))
    .get(api_key=)`, or None."""
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "key_with_open_orders",
        lambda: (
            f"SELECT k.*, EXISTS(SELECT 1 FROM {_table(PaperOrder)} o"  # noqa: S608
            f" WHERE o.account_id = k.account_id AND o.status IN ({_in(len(OPEN))}))"
            f" AS has_open_orders FROM {_table(PaperApiKey)} k WHERE k.api_key = %s"
        ),
    )
    for key in _fetch(db, PaperApiKey, sql, [*OPEN, api_key]):
        key.has_open_orders = bool(key.has_open_orders)  # SQLite answers 0/1
        return key
    return None


def account_write_seq_bump(*, account_id: int) -> None:
    """`PaperAccount.objects.filter(pk=).update(write_seq=F("write_seq") + 1)`."""
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "account_write_seq_bump",
        lambda: f"UPDATE {_table(PaperAccount)} SET write_seq = write_seq + 1 WHERE id = %s",  # noqa: S608
    )
    _run(db, sql, [account_id])


def balances_for_update(*, account_id: int, assets: list[str]) -> list[PaperBalance]:
    """`PaperBalance.objects.select_for_update().filter(account_id=, asset__in=)
    .order_by("asset")`."""
    if not assets:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "balances_for_update",
        lambda: (
            f"SELECT * FROM {_table(PaperBalance)} WHERE account_id = %s"  # noqa: S608
            f" AND asset IN ({_in(len(assets))}) ORDER BY asset{_for_update()}"
        ),
        len(assets),
    )
    return _fetch(db, PaperBalance, sql, [account_id, *assets])


def balances_save(*, rows) -> None:
    """`row.save(update_fields=["free", "locked"])` for each row."""
    free, locked = (PaperBalance._meta.get_field(name) for name in ("free", "locked"))
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "balances_save",
        lambda: f"UPDATE {_table(PaperBalance)} SET free = %s, locked = %s WHERE id = %s",  # noqa: S608
    )
    for row in rows:
        params = [free.get_db_prep_save(row.free, db), locked.get_db_prep_save(row.locked, db)]
        _run(db, sql, [*params, row.pk])


def order_for_update(*, account_id: int, symbol: str, order_id: int) -> PaperOrder | None:
    """`PaperOrder.objects.select_for_update().filter(account_id=, symbol=, pk=).first()`."""
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "order_for_update",
        lambda: (
            f"SELECT * FROM {_table(PaperOrder)}"  # noqa: S608
            f" WHERE account_id = %s AND symbol = %s AND id = %s{_for_update()}"
        ),
    )
    return next(iter(_fetch(db, PaperOrder, sql, [account_id, symbol, order_id])), None)


def open_client_id_taken(*, account_id: int, client_order_id: str) -> bool:
    """`PaperOrder.objects.filter(account_id=, status__in=OPEN, client_order_id=).exists()`."""
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "open_client_id_taken",
        lambda: (
            f"SELECT 1 FROM {_table(PaperOrder)} WHERE account_id = %s"  # noqa: S608
            f" AND status IN ({_in(len(OPEN))}) AND client_order_id = %s LIMIT 1"
        ),
    )
    params = [account_id, *OPEN, client_order_id]
    return _run(db, sql, params, fetch="one") is not None


def resting_orders(*, account_id: int, symbol: str | None = None) -> list[PaperOrder]:
    """`PaperOrder.objects.filter(account_id=, status__in=OPEN, type__in=RESTING_TYPES
    [, symbol=]).order_by("id")`."""
    params = [account_id, *OPEN, *RESTING_TYPES]
    if symbol:
        params.append(symbol)
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "resting_orders",
        lambda: (
            f"SELECT * FROM {_table(PaperOrder)} WHERE account_id = %s"  # noqa: S608
            f" AND status IN ({_in(len(OPEN))}) AND type IN ({_in(len(RESTING_TYPES))})"
            # "+id": sorting by an expression keeps SQLite's planner from walking the
            # account_id index (already in id order) through the account's whole history;
            # it searches (account_id, status) and sorts the few open orders instead.
            f"{' AND symbol = %s' if symbol else ''} ORDER BY +id"
        ),
        bool(symbol),
    )
    return _fetch(db, PaperOrder, sql, params)


def order_insert(*, order: PaperOrder) -> None:
    """`order.save()` of a new order: one INSERT, then the instance has its id and is saved."""
    meta = PaperOrder._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    db = connections[DEFAULT_DB_ALIAS]
    returning = db.features.can_return_columns_from_insert
    quote = db.ops.quote_name
    sql = _statement(
        db,
        "order_insert",
        lambda: (
            f"INSERT INTO {_table(PaperOrder)}"  # noqa: S608
            f" ({', '.join(quote(f.column) for f in fields)}) VALUES ({_in(len(fields))})"
            + (f" RETURNING {quote(meta.pk.column)}" if returning else "")
        ),
    )
    values = [f.get_db_prep_save(f.pre_save(order, True), db) for f in fields]
    if returning:
        order.pk = _run(db, sql, values, fetch="one")[0]
    elif _direct(db):
        order.pk = _run(db, sql, values)  # SQLite's last_insert_id is the cursor's lastrowid
    else:
        with db.cursor() as cursor:
            cursor.execute(sql, values)
            order.pk = db.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    order._state.adding, order._state.db = False, db.alias


def order_cancel_save(*, order: PaperOrder) -> None:
    """`order.save(update_fields=["status", "locked_amount", "updated_ms"])`."""
    fields = [PaperOrder._meta.get_field(name) for name in CANCEL_FIELDS]
    db = connections[DEFAULT_DB_ALIAS]
    sql = _statement(
        db,
        "order_cancel_save",
        lambda: (
            f"UPDATE {_table(PaperOrder)} SET "  # noqa: S608
            + ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
            + " WHERE id = %s"
        ),
    )
    values = [f.get_db_prep_save(f.pre_save(order, False), db) for f in fields]
    _run(db, sql, [*values, order.pk])

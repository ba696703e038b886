"""Helpers for plain SQL on the hottest paths, with values adapted and read by the model fields.

Building a query through the ORM costs 0.3-1 ms of Python on a small machine, several times
what SQLite or PostgreSQL take to answer it. The order path runs a dozen such statements per
order, so they are written out once (see trading/sql.py). These helpers keep them faithful to
the models: identifiers come quoted from the models' metadata, every value is a parameter
prepared by its field (as save() and update() prepare it), and every value read back goes
through the same converters the ORM applies (booleans, decimals, datetimes, decryption).

Functions take the connection wrapper itself (`db()`): each attribute read through
django.db.connection passes a thread-local lookup, which added up to ~1 ms per order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.models.base import ModelState


def db():
    """The default database's connection wrapper for this thread (resolve it once per use)."""
    return connections[DEFAULT_DB_ALIAS]


def quote(conn, name: str) -> str:
    """Quote an identifier for `conn`'s database."""
    return conn.ops.quote_name(name)


def table(conn, model) -> str:
    """The model's quoted table name."""
    return conn.ops.quote_name(model._meta.db_table)


def fields_of(model, names=None) -> list:
    """The model's concrete fields named in `names` (all of them if None), in model order."""
    fields = model._meta.concrete_fields
    if names is None:
        return list(fields)
    wanted = set(names)
    return [f for f in fields if f.name in wanted or f.attname in wanted]


def columns(conn, fields, alias: str) -> str:
    """`alias."col", ...` for a select list."""
    return ", ".join(f"{alias}.{conn.ops.quote_name(f.column)}" for f in fields)


def prep(conn, field, value):
    """A value as the ORM sends it for `field` in an INSERT or UPDATE (and in a lookup)."""
    return preparers(conn, (field,))[0](value)


def _converters(conn, fields) -> list:
    """[(position, converters, col)] for the fields that have converters (most have none)."""
    # Converters are bound to one connection's operations; cache them on that connection.
    cache = conn.__dict__.setdefault("_keytrade_rawsql_converters", {})
    cache_key = tuple(map(id, fields))
    found = cache.get(cache_key)
    if found is None:
        found = []
        for position, f in enumerate(fields):
            col = f.get_col(f.model._meta.db_table)
            chain = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            if chain:
                found.append((position, chain, col))
        cache[cache_key] = found
    return found


def read(conn, fields, values) -> list:
    """Convert one row's raw database values for `fields` as the ORM does when it reads them."""
    out = list(values)
    if len(out) != len(fields):
        raise ValueError(f"{len(out)} values for {len(fields)} fields")
    for position, chain, col in _converters(conn, fields):
        value = out[position]
        for convert in chain:
            value = convert(value, col, conn)
        out[position] = value
    return out


def instance(conn, model, fields, values):
    """A model instance from converted values for `fields` (the others deferred, as only())."""
    return model.from_db(conn.alias, [f.attname for f in fields], values)


def loaded(model, alias: str, attnames, values):
    """`model.from_db(alias, attnames, values)` without Model.__init__: the same instance (the
    attributes not given are deferred; saved, from database `alias`), but none of __init__'s
    per-field work and no pre_init/post_init signals. Only for models nobody listens to
    those signals for (tests check the ones used) and values already converted."""
    obj = model.__new__(model)
    obj.__dict__.update(zip(attnames, values, strict=True))
    state = obj._state = ModelState()
    state.adding, state.db = False, alias
    return obj


# --- values in: as save() prepares them, without the ORM's layers for plain values -----------


def _text(conn, field, slow):
    return lambda value: value if type(value) is str or value is None else slow(value, conn)


def _integer(conn, field, slow):
    adapt, internal = conn.ops.adapt_integerfield_value, field.get_internal_type()

    def integer(value):
        if type(value) is int:
            return adapt(value, internal)
        return None if value is None else slow(value, conn)

    return integer


def _auto(conn, field, slow):
    validate = conn.ops.validate_autopk_value
    return lambda value: validate(value) if type(value) is int else slow(value, conn)


def _decimal(conn, field, slow):
    adapt, digits, places = (
        conn.ops.adapt_decimalfield_value,
        field.max_digits,
        field.decimal_places,
    )

    def decimal_(value):
        if value is None or (type(value) is Decimal and value.is_finite()):
            return adapt(value, digits, places)
        return slow(value, conn)

    return decimal_


def _datetime(conn, field, slow):
    adapt = conn.ops.adapt_datetimefield_value
    sqlite = conn.vendor == "sqlite"

    def datetime_(value):
        if type(value) is datetime and value.tzinfo is UTC and sqlite:
            # SQLite's adapter for a UTC time when the connection's zone is UTC (with
            # USE_TZ): the naive UTC time as text (make_naive changes nothing else).
            if conn.timezone is UTC and settings.USE_TZ:
                return str(value.replace(tzinfo=None))
        # Aware (or None): get_prep_value changes nothing; a naive one warns, so: slow.
        if value is None or (type(value) is datetime and value.utcoffset() is not None):
            return adapt(value)
        return slow(value, conn)

    return datetime_


def _uuid(conn, field, slow):
    native = conn.features.has_native_uuid_field

    def uuid_(value):
        if type(value) is UUID:
            return value if native else value.hex
        return None if value is None else slow(value, conn)

    return uuid_


def _foreign_key(conn, field, slow):
    # ForeignKey.get_db_prep_save: None (and "" where it means NULL) stays None, the rest is
    # prepared by the target field.
    target = _preparer(conn, field.target_field)
    empty_is_null = (
        not field.target_field.empty_strings_allowed
        or conn.features.interprets_empty_strings_as_nulls
    )

    def foreign_key(value):
        if value is None or (empty_is_null and value == ""):
            return None
        return target(value)

    return foreign_key


# Django's own field classes (exactly those: a subclass may change any step) whose values of
# their plain Python type need only the backend's adapter, or nothing.
_SHORTCUTS = {
    models.CharField: _text,
    models.TextField: _text,
    **dict.fromkeys(
        (
            models.SmallIntegerField,
            models.IntegerField,
            models.BigIntegerField,
            models.PositiveSmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
        ),
        _integer,
    ),
    **dict.fromkeys((models.AutoField, models.BigAutoField, models.SmallAutoField), _auto),
    models.DecimalField: _decimal,
    models.DateTimeField: _datetime,
    models.UUIDField: _uuid,
    models.ForeignKey: _foreign_key,
}


def _preparer(conn, field) -> Callable:
    """A function equal to `field.get_db_prep_save(value, conn)` for every value.

    `get_db_prep_save` passes each value through three or four layers (expression check,
    Promise check, to_python, the backend's adapter): about 3 us a value, ~50 values per order.
    For Django's own field classes and a value of the field's plain Python type, the result is
    known: the backend's adapter alone, or the value itself. Anything else (another type, an
    expression, a naive datetime, a custom field) goes through `get_db_prep_save` itself.
    tests/keytrade/test_rawsql.py compares the two for every field of the order path's models
    and values of every kind.
    """
    slow = field.get_db_prep_save
    shortcut = _SHORTCUTS.get(type(field))
    if shortcut is None:
        return lambda value: slow(value, conn)
    return shortcut(conn, field, slow)


def preparers(conn, fields) -> list[Callable]:
    """One `_preparer` per field, made once per connection and list of fields."""
    cache = conn.__dict__.setdefault("_keytrade_rawsql_preparers", {})
    cache_key = tuple(map(id, fields))
    found = cache.get(cache_key)
    if found is None:
        found = cache[cache_key] = [_preparer(conn, f) for f in fields]
    return found


def prep_row(conn, fields, values) -> list:
    """`[f.get_db_prep_save(v, conn) for f, v in zip(fields, values)]`, faster."""
    return [prepare(value) for prepare, value in zip(preparers(conn, fields), values, strict=True)]


# --- running a statement -------------------------------------------------------------------------

_qmark_texts: dict[str, str] = {}


def _qmark(text: str) -> str:
    """A statement's text with SQLite's "?" placeholders, converted once per text."""
    converted = _qmark_texts.get(text)
    if converted is None:
        # As Django's SQLite cursor converts them (SQLiteCursorWrapper.convert_query).
        converted = _qmark_texts[text] = FORMAT_QMARK_REGEX.sub("?", text).replace("%%", "%")
    return converted


def run(conn, text: str, params, *, fetch: str = ""):
    """Execute one statement; return its first row (fetch="one"), its row count
    (fetch="rowcount") or None.

    On SQLite, when nothing observes Django's queries (no `execute_wrapper`, no debug cursor
    such as assertNumQueries or CaptureQueriesContext), the statement runs on the DB-API
    connection Django holds, after the checks Django's `cursor()` makes (health check,
    connect on first use, thread sharing, broken transaction) and with errors translated into
    django.db's exceptions, inside Django's transactions: Django's cursor wrapper cost ~15 us
    a statement (converting placeholders by regular expression, thread-local lookups) on top
    of SQLite's own few. Otherwise, and on PostgreSQL, through Django's cursor.
    """
    if conn.vendor == "sqlite" and not conn.execute_wrappers and not conn.queries_logged:
        if conn.health_check_enabled and not conn.health_check_done:
            conn.close_if_health_check_failed()
        conn.ensure_connection()  # (also refuses to run from an event loop, as cursor() does)
        conn.validate_thread_sharing()
        if conn.needs_rollback:
            conn.validate_no_broken_transaction()  # raises, as Django's cursor would
        with conn.wrap_database_errors:
            cursor = conn.connection.execute(_qmark(text), params)
            try:
                if fetch == "one":
                    return cursor.fetchone()
                return cursor.rowcount if fetch == "rowcount" else None
            finally:
                cursor.close()
    with conn.cursor() as cursor:
        cursor.execute(text, params)
        if fetch == "one":
            return cursor.fetchone()
        return cursor.rowcount if fetch == "rowcount" else None


# --- joining the caller's transaction --------------------------------------------------------


class _Joined:
    __slots__ = ("conn",)

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        # What a nested atomic(savepoint=False) does on the way out: after any failure, the
        # enclosing transaction is marked so that it rolls back and cannot commit.
        if exc_type is not None and not self.conn.closed_in_transaction:
            self.conn.needs_rollback = True
        return False


def atomic_joined(conn):
    """`transaction.atomic(savepoint=False)` on `conn`: its own transaction when none is open;
    inside an open atomic block, the same effect (a failure marks the enclosing transaction
    for rollback) without atomic's bookkeeping (connection lookups, block stacks), which cost
    as much as a small statement on the order path."""
    if conn.in_atomic_block:
        return _Joined(conn)
    return transaction.atomic(using=conn.alias, savepoint=False)

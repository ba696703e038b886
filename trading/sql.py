"""The order path's statements, written once instead of built by the ORM for every order.

Measured in process (bench/order_path.py, cProfile with process_time): compiling these
through the ORM cost 0.3-1 ms of Python each, most of keytrade's own time per order. Each
function states the ORM expression it replaces; tests/trading/test_sql.py checks each
against it, and the suite runs on SQLite and (in CI) PostgreSQL. Values are prepared and
read back by the model fields (keytrade.rawsql); only quoted identifiers from the models'
metadata and "%s" placeholders are interpolated. Statements are built once per database
vendor and cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import ExchangeKey
from accounts.services.keys import SEALED_FIELDS
from keytrade.rawsql import columns, db, fields_of, loaded, prep, prep_row, read, run, table
from trading.models import AccountLimits, Order, OrderIntent, TradingHalt, client_order_id_for

_F = OrderIntent._meta.get_field
_PK = OrderIntent._meta.pk
_KINDS_RATED = (OrderIntent.Kind.PLACE.value, OrderIntent.Kind.AMEND.value)

# What the worker reads of an intent's relations (submission._RELATED_FIELDS, by model).
CLAIM_KEY_FIELDS = (
    "id",
    "user",
    "exchange",
    "label",
    "fingerprint",
    "status",
    "scope_read",
    "scope_trade",
    "exchange_expires_at",
)
CLAIM_USER_FIELDS = ("id", "username")
CLAIM_ORDER_FIELDS = ("id", "exchange_order_id")


def _one(conn, sql: str, params: list):
    return run(conn, sql, params, fetch="one")


def _rowcount(conn, sql: str, params: list) -> int:
    return run(conn, sql, params, fetch="rowcount")


@lru_cache(maxsize=32)
def _sql(name: str, vendor: str) -> str:
    """Build statement `name` for `vendor` (once: the cache keeps it)."""
    conn = db()
    q = conn.ops.quote_name
    if name.startswith("limits+"):
        # limits+<rate>+<halt>: the limit columns (NULL without a row) and, when asked, the
        # rate count and the global halt as scalar subqueries, in one round trip. The derived
        # one-row table keeps a row when the user has no limits row.
        _, rate, halt = name.split("+")
        extra = ""
        if rate == "1":
            extra += (
                f", (SELECT COUNT(*) FROM {table(conn, OrderIntent)} r"  # noqa: S608
                f" WHERE r.{q('user_id')} = %s AND r.{q('created_at')} >= %s"
                f" AND r.{q('kind')} IN (%s, %s))"
            )
        if halt == "1":
            extra += (
                f", (SELECT 1 FROM {table(conn, TradingHalt)} h"  # noqa: S608
                f" WHERE h.{q('id')} = %s AND h.{q('active')} = %s)"
            )
        return (
            f"SELECT {columns(conn, _LIMIT_VALUE_FIELDS, 'l')}{extra}"  # noqa: S608
            f" FROM (SELECT 1 AS {q('one')}) d"
            f" LEFT OUTER JOIN {table(conn, AccountLimits)} l ON l.{q('user_id')} = %s"
        )
    if name == "claim":
        return (
            f"UPDATE {table(conn, OrderIntent)} SET {q('status')} = %s,"  # noqa: S608
            f" {q('attempt')} = {q('attempt')} + 1, {q('claimed_at')} = %s,"
            f" {q('claimed_by')} = %s, {q('retry_at')} = NULL, {q('updated_at')} = %s"
            f" WHERE {q('id')} = %s AND {q('status')} = %s"
        )
    if name == "worker":
        user_model = get_user_model()
        target = _F("target_order").column
        return (
            f"SELECT {columns(conn, _INTENT_FIELDS, 'i')}, {columns(conn, _KEY_FIELDS, 'k')},"  # noqa: S608
            f" {columns(conn, _user_fields(), 'u')}, {columns(conn, _ORDER_FIELDS, 'o')},"
            f" {columns(conn, _SEALED_FIELDS, 'k')}, {columns(conn, _LIMIT_VALUE_FIELDS, 'l')},"
            f" (SELECT 1 FROM {table(conn, TradingHalt)} h"
            f" WHERE h.{q('id')} = %s AND h.{q('active')} = %s)"
            f" FROM {table(conn, OrderIntent)} i"
            f" INNER JOIN {table(conn, ExchangeKey)} k ON k.{q('id')} = i.{q('key_id')}"
            f" INNER JOIN {table(conn, user_model)} u ON u.{q('id')} = i.{q('user_id')}"
            f" LEFT OUTER JOIN {table(conn, Order)} o ON o.{q('id')} = i.{q(target)}"
            f" LEFT OUTER JOIN {table(conn, AccountLimits)} l"
            f" ON l.{q('user_id')} = i.{q('user_id')}"
            f" WHERE i.{q('id')} = %s"
        )
    raise LookupError(name)


# --- limits ------------------------------------------------------------------------------------


# What the checks read of a limits row, in this order (limits.EffectiveLimits is built from it).
LIMIT_VALUE_FIELDS = (
    "id",
    "max_order_notional",
    "max_orders_per_minute",
    "allowed_symbols",
    "ceiling_max_order_notional",
    "ceiling_max_orders_per_minute",
    "ceiling_allowed_symbols",
    "trading_halted",
)
_LIMIT_VALUE_FIELDS = [AccountLimits._meta.get_field(n) for n in LIMIT_VALUE_FIELDS]


def limits_values(*, user_id, placed_since=None, with_halt: bool = False) -> tuple:
    """One statement for what an order's limit checks read: `(values, recent, halted)`.

    `values`: `AccountLimits.objects.filter(user=user_id).values_list(*LIMIT_VALUE_FIELDS)
    .first()` (None without a row); `recent`, when `placed_since` is given (else None):
    `OrderIntent.objects.filter(user=user_id, created_at__gte=placed_since,
    kind__in=[PLACE, AMEND]).count()`; `halted`, when `with_halt` (else None):
    `TradingHalt.objects.filter(pk=1, active=True).exists()`.
    """
    conn = db()
    rate, params = placed_since is not None, []
    if rate:
        since = prep(conn, _F("created_at"), placed_since)
        params += [user_id, since, *_KINDS_RATED]
    if with_halt:
        params += [1, prep(conn, TradingHalt._meta.get_field("active"), True)]
    params.append(user_id)
    name = f"limits+{int(rate)}+{int(with_halt)}"
    row = _one(conn, _sql(name, conn.vendor), params)
    width = len(_LIMIT_VALUE_FIELDS)
    values = None
    if row[0] is not None:
        values = tuple(read(conn, _LIMIT_VALUE_FIELDS, row[:width]))
    extra = list(row[width:])
    recent = extra.pop(0) if rate else None
    halted = (extra.pop(0) is not None) if with_halt else None
    return values, recent, halted


# --- intents -----------------------------------------------------------------------------------


_INTENT_FIELDS = fields_of(OrderIntent)


@lru_cache(maxsize=8)
def _insert_sql(model, vendor: str, ignore_conflicts: bool = False) -> str:
    conn = db()
    fields = model._meta.concrete_fields
    names = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table(conn, model)} ({names}) VALUES ({marks})"  # noqa: S608
    if ignore_conflicts:
        # Standard upsert syntax (PostgreSQL; SQLite >= 3.24): skips a row that breaks a unique
        # constraint or the primary key, and only that (SQLite's INSERT OR IGNORE, which
        # bulk_create uses, would also skip NOT NULL and CHECK violations).
        sql += " ON CONFLICT DO NOTHING"
    return sql


def _insert(obj, *, ignore_conflicts: bool = False) -> bool:
    """`obj.save(force_insert=True)` for a model with no parents, signals or save() logic.

    With `ignore_conflicts`, a row that breaks a unique constraint is not written and False
    is returned (no IntegrityError, so no savepoint is needed around it)."""
    conn = db()
    model = type(obj)
    fields = model._meta.concrete_fields
    values = prep_row(conn, fields, [f.pre_save(obj, True) for f in fields])
    written = _rowcount(conn, _insert_sql(model, conn.vendor, ignore_conflicts), values)
    if ignore_conflicts and written != 1:
        return False
    obj._state.adding, obj._state.db = False, conn.alias
    return True


def intent_insert(intent: OrderIntent) -> None:
    """`intent.save(force_insert=True)` (OrderIntent.save derives the client order id first)."""
    if not intent.client_order_id:
        intent.client_order_id = client_order_id_for(intent.id)
    _insert(intent)


def intent_claim(*, intent_id, worker: str, now) -> bool:
    """`OrderIntent.objects.filter(pk=intent_id, status=NEW).update(status=SUBMITTING,
    attempt=F("attempt") + 1, claimed_at=now, claimed_by=worker, retry_at=None,
    updated_at=now) == 1`: the compare-and-set that makes duplicate deliveries harmless."""
    conn = db()
    at = prep(conn, _F("claimed_at"), now)
    params = [
        OrderIntent.Status.SUBMITTING.value,
        at,
        worker,
        at,
        prep(conn, _PK, intent_id),
        OrderIntent.Status.NEW.value,
    ]
    return _rowcount(conn, _sql("claim", conn.vendor), params) == 1


@lru_cache(maxsize=64)
def _move_sql(names: tuple[str, ...], n_from: int, vendor: str) -> str:
    conn = db()
    q = conn.ops.quote_name
    sets = ", ".join(f"{q(_F(n).column)} = %s" for n in ("status", "updated_at", *names))
    states = ", ".join(["%s"] * n_from)
    return (
        f"UPDATE {table(conn, OrderIntent)} SET {sets}"  # noqa: S608
        f" WHERE {q('id')} = %s AND {q('status')} IN ({states})"
    )


def intent_move(*, intent_id, to: str, frm, now, fields: dict) -> int:
    """`OrderIntent.objects.filter(pk=, status__in=frm).update(status=to, updated_at=now,
    **fields)`; returns the number of rows changed. Field values must be plain values."""
    conn = db()
    names = tuple(fields)
    values = prep_row(conn, _move_fields(names), [now, *fields.values(), intent_id])
    params = [str(to), *values, *(str(s) for s in frm)]
    return _rowcount(conn, _move_sql(names, len(frm), conn.vendor), params)


@lru_cache(maxsize=64)
def _move_fields(names: tuple[str, ...]) -> tuple:
    return (_F("updated_at"), *(_F(n) for n in names), _PK)


_KEY_FIELDS = fields_of(ExchangeKey, CLAIM_KEY_FIELDS)
_SEALED_FIELDS = [ExchangeKey._meta.get_field(name) for name in SEALED_FIELDS]
_ORDER_FIELDS = fields_of(Order, CLAIM_ORDER_FIELDS)


@lru_cache(maxsize=1)
def _user_fields() -> list:
    return fields_of(get_user_model(), CLAIM_USER_FIELDS)


class ForWorker(NamedTuple):
    """What the worker reads right after its claim, in one statement."""

    intent: OrderIntent  # with its key, user and target order (the CLAIM_* fields)
    credentials: tuple  # the key's SEALED_FIELDS as stored, for key_credentials_sealed_from
    limits: tuple | None  # the user's limits row (LIMIT_VALUE_FIELDS), None without one
    halted: bool  # the global kill switch is on

    def __repr__(self) -> str:  # the ciphertexts stay out of logs and tracebacks, as Sealed's
        return f"ForWorker(intent={self.intent!r}, limits={self.limits!r}, halted={self.halted})"


@lru_cache(maxsize=1)
def _worker_plan() -> tuple:
    """Where each part of the worker's row is: the objects (model, attnames, start, end) read
    with the fields' converters, the credentials, the limits and the halt flag."""
    objects, converted, start = [], [], 0
    parts = (
        (OrderIntent, _INTENT_FIELDS),
        (ExchangeKey, _KEY_FIELDS),
        (get_user_model(), _user_fields()),
        (Order, _ORDER_FIELDS),
    )
    for model, fields in parts:
        attnames = tuple(f.attname for f in fields)
        objects.append((model, attnames, start, start + len(fields)))
        converted += fields
        start += len(fields)
    sealed = (start, start + len(_SEALED_FIELDS))
    limits = (sealed[1], sealed[1] + len(_LIMIT_VALUE_FIELDS))
    return tuple(objects), converted, sealed, limits, limits[1]


def intent_for_worker(*, intent_id) -> ForWorker | None:
    """One statement for what the worker reads after its claim.

    `intent`: `OrderIntent.objects.select_related("key", "user", "target_order").only(<every
    intent field>, <the CLAIM_* fields of the key, user and target order>).filter(pk=)
    .first()`; `credentials`: `ExchangeKey.objects.filter(pk=intent.key_id).values_list(
    *SEALED_FIELDS)` as stored; `limits` and `halted`: `limits_values(user_id=intent.user_id,
    with_halt=True)`. The objects are built as from_db builds them, without Model.__init__
    (rawsql.loaded): they are the worker's own.
    """
    conn = db()
    halt = [1, prep(conn, TradingHalt._meta.get_field("active"), True)]
    row = _one(conn, _sql("worker", conn.vendor), [*halt, prep(conn, _PK, intent_id)])
    if row is None:
        return None
    objects, converted, sealed, limits_at, halt_at = _worker_plan()
    values, alias = read(conn, converted, row[: len(converted)]), conn.alias
    intent, key, user, order = (
        loaded(model, alias, attnames, values[start:end]) for model, attnames, start, end in objects
    )
    if row[objects[3][2]] is None:
        order = None  # no target order (the LEFT JOIN found none)
    _F("key").set_cached_value(intent, key)
    _F("user").set_cached_value(intent, user)
    _F("target_order").set_cached_value(intent, order)
    limits = None
    if row[limits_at[0]] is not None:
        limits = tuple(read(conn, _LIMIT_VALUE_FIELDS, row[limits_at[0] : limits_at[1]]))
    credentials = tuple(row[sealed[0] : sealed[1]])
    return ForWorker(intent, credentials, limits, row[halt_at] is not None)


# --- orders ------------------------------------------------------------------------------------


_ORDER = Order._meta
_ORDER_ATTNAMES = tuple(f.attname for f in _ORDER.concrete_fields)


def order_insert(*, key, exchange_order_id: str, intent=None, **values) -> Order | None:
    """`Order.objects.create(key=key, exchange_order_id=, intent=intent, **values)`, unless
    the key already has an order with that exchange id: then nothing is written and None is
    returned. `values`: the Order's other fields by name (defaults apply to those not given).

    The row is built without Model.__init__ and saved without save()'s layers (rawsql.loaded,
    prep_row): the order path records one per order."""
    conn = db()
    row = {**values, "key_id": key.pk, "exchange_order_id": exchange_order_id}
    row["intent_id"] = None if intent is None else intent.pk
    row["updated_at"] = timezone.now()  # auto_now, as pre_save sets it
    for field in _ORDER.concrete_fields:
        if field.attname not in row:
            row[field.attname] = field.get_default()  # as Model.__init__ fills them in
    ordered = [row[name] for name in _ORDER_ATTNAMES]
    text = _insert_sql(Order, conn.vendor, ignore_conflicts=True)
    if _rowcount(conn, text, prep_row(conn, _ORDER.concrete_fields, ordered)) != 1:
        return None
    order = loaded(Order, conn.alias, _ORDER_ATTNAMES, ordered)
    _ORDER.get_field("key").set_cached_value(order, key)
    _ORDER.get_field("intent").set_cached_value(order, intent)
    return order

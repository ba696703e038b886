"""The dashboard pages' hottest reads, written once instead of built by the ORM per request.

Measured in process through the WSGI handler (bench/pages.py): building and compiling these
queries with the ORM cost 0.5-1.5 ms of CPU each, against about 0.1 ms for the database to
answer them, and the overview and fills pages run several on every request (and every htmx
poll). Each function states the ORM expression it replaces; tests/trading/test_sql_pages.py checks
each against it on the same data, and the whole suite runs on SQLite and PostgreSQL.

Values come back through the same converters the ORM applies (the backend's, then the
field's: decimals quantized as the ORM does, aware datetimes, UUIDs), and parameters go in
prepared by the fields, so the results are equal value for value.
Only quoted table and column names from the models' _meta and "%s" placeholders are
interpolated.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, lru_cache

from django.db import connection
from django.db.models import Value

from accounts.models import ExchangeKey
from keytrade.rawsql import db, fields_of, instance, quote, read, table
from trading.models import (
    Balance,
    Fill,
    FillDailyTotal,
    MarketInfo,
    MarketPrice,
    Order,
    OrderIntent,
)

FILL_COLUMNS = (
    "id",
    "executed_at",
    "symbol",
    "side",
    "price",
    "amount",
    "cost",
    "fee",
    "fee_currency",
    "key_id",
)
ORDER_COLUMNS = ("id", "placed_at", "symbol", "side", "type", "price", "amount", "filled", "key_id")


def _q(name: str) -> str:
    return quote(db(), name)


def _table(model) -> str:
    return table(db(), model)


def _cols(alias: str, model, names) -> str:
    return ", ".join(f"{alias}.{_q(model._meta.get_field(n).column)}" for n in names)


def _in(values) -> str:
    return ", ".join(["%s"] * len(values))


def _sum(column: str) -> str:
    # As the ORM writes Sum() of a DecimalField: SQLite's SUM is wrapped in a NUMERIC cast.
    return f"CAST(SUM({column}) AS NUMERIC)" if connection.vendor == "sqlite" else f"SUM({column})"


def _per_vendor(build):
    """Build a statement's text once per database vendor and shape (`build(*shape)`).

    A text depends only on the vendor's quoting and the models; built on every call, the
    quoting alone cost ~0.3 ms of a page. The shape is what varies between calls: which
    optional filters apply, how many values an IN list takes.
    """
    texts = lru_cache(maxsize=512)(lambda vendor, *shape: build(*shape))

    def text(*shape):
        return texts(db().vendor, *shape)

    return text


_MISSING = object()


@cache
def _converters(vendor: str, spec: tuple) -> tuple:
    """(index, expression, converters) per column needing any, as the ORM's compiler finds them.

    spec: (model, field name, aggregate?) per column; an aggregate column converts like an
    aggregate over that field (no per-column quantize), a plain one like the column itself.
    """
    out = []
    for index, (model, name, aggregate) in enumerate(spec):
        field = model._meta.get_field(name)
        if aggregate:
            expression = Value(None, output_field=field)
        else:
            expression = field.get_col(model._meta.db_table)
        converters = [
            *connection.ops.get_db_converters(expression),
            *expression.get_db_converters(connection),
        ]
        if converters:
            out.append((index, expression, converters))
    return tuple(out)


def _fetch(sql: str, params, spec: tuple) -> list[list]:
    conn = db()
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [list(row) for row in cursor.fetchall()]
    if not rows:
        return rows
    # Column by column; a value repeated down a column (a key id, a fixed amount) converts once.
    for index, expression, functions in _converters(conn.vendor, spec):
        memo = {}
        for row in rows:
            raw = row[index]
            try:
                value = memo.get(raw, _MISSING)
                hashable = True
            except TypeError:  # unhashable (a memoryview): converted each time
                value, hashable = _MISSING, False
            if value is _MISSING:
                value = raw
                for function in functions:
                    value = function(value, expression, conn)  # as the ORM's compiler calls it
                if hashable:
                    memo[raw] = value
            row[index] = value
    return rows


def _prep(model, name: str, value):
    return model._meta.get_field(name).get_db_prep_value(value, connection, prepared=False)


def _key_label_exchange() -> str:
    return _cols("k", ExchangeKey, ("label", "exchange"))


_KEY_SPEC = ((ExchangeKey, "label", False), (ExchangeKey, "exchange", False))


def open_order_rows(*, user_id: int, limit: int) -> list[list]:
    """`open_orders_for_user(user=)[:limit].values(*ORDER_COLUMNS, "key__label",
    "key__exchange")` as lists in that order."""
    return _fetch(_open_orders_sql(), [user_id, str(Order.Status.OPEN), limit], _ORDER_SPEC)


_ORDER_SPEC = (*((Order, n, False) for n in ORDER_COLUMNS), *_KEY_SPEC)


@_per_vendor
def _open_orders_sql() -> str:
    return (
        f"SELECT {_cols('o', Order, ORDER_COLUMNS)}, {_key_label_exchange()}"  # noqa: S608
        f" FROM {_table(Order)} o INNER JOIN {_table(ExchangeKey)} k ON o.{_q('key_id')} = k.id"
        f" WHERE k.{_q('user_id')} = %s AND o.{_q('status')} = %s"
        f" ORDER BY o.{_q('placed_at')} DESC, o.id DESC LIMIT %s"
    )


PENDING_COLUMNS = ("id", "created_at", "kind", "symbol", "side", "amount", "price", "status")


def pending_intent_rows(*, user_id: int, limit: int) -> list[list]:
    """`OrderIntent.objects.filter(user=, status__in=OrderIntent.UNFINISHED)
    .order_by("-created_at")[:limit].values(*PENDING_COLUMNS, "key__label", "key__exchange")`
    as lists in that order (newest first)."""
    statuses = [str(status) for status in OrderIntent.UNFINISHED]
    return _fetch(_pending_sql(len(statuses)), [user_id, *statuses, limit], _PENDING_SPEC)


_PENDING_SPEC = (*((OrderIntent, n, False) for n in PENDING_COLUMNS), *_KEY_SPEC)


@_per_vendor
def _pending_sql(statuses: int) -> str:
    return (
        f"SELECT {_cols('i', OrderIntent, PENDING_COLUMNS)}, {_key_label_exchange()}"  # noqa: S608
        f" FROM {_table(OrderIntent)} i"
        f" INNER JOIN {_table(ExchangeKey)} k ON i.{_q('key_id')} = k.id"
        f" WHERE i.{_q('user_id')} = %s AND i.{_q('status')} IN ({_in(range(statuses))})"
        f" ORDER BY i.{_q('created_at')} DESC LIMIT %s"
    )


_FILL_SPEC = (*((Fill, n, False) for n in FILL_COLUMNS), *_KEY_SPEC)


def _fill_select() -> str:
    return (
        f"SELECT {_cols('f', Fill, FILL_COLUMNS)}, {_key_label_exchange()}"  # noqa: S608
        f" FROM {_table(Fill)} f INNER JOIN {_table(ExchangeKey)} k ON f.{_q('key_id')} = k.id"
    )


def fill_rows_since(*, user_id: int, since: datetime, limit: int) -> list[list]:
    """`fills_for_user(user=, date_from=since)[:limit].values(*FILL_COLUMNS, "key__label",
    "key__exchange")` as lists in that order (newest first)."""
    params = [user_id, _prep(Fill, "executed_at", since), limit]
    return _fetch(_fills_since_sql(), params, _FILL_SPEC)


@_per_vendor
def _fills_since_sql() -> str:
    return (
        f"{_fill_select()} WHERE k.{_q('user_id')} = %s AND f.{_q('executed_at')} >= %s"
        f" ORDER BY f.{_q('executed_at')} DESC, f.id DESC LIMIT %s"
    )


def fill_rows_by_ids(*, ids: list[int]) -> list[list]:
    """`Fill.objects.filter(pk__in=ids).order_by("-executed_at", "-pk").values(*FILL_COLUMNS,
    "key__label", "key__exchange")` as lists in that order."""
    if not ids:
        return []
    return _fetch(_fills_by_ids_sql(len(ids)), list(ids), _FILL_SPEC)


@_per_vendor
def _fills_by_ids_sql(ids: int) -> str:
    return (
        f"{_fill_select()} WHERE f.id IN ({_in(range(ids))})"
        f" ORDER BY f.{_q('executed_at')} DESC, f.id DESC"
    )


def fill_page_ids(
    *,
    user_id: int,
    key_id,
    offset: int,
    limit: int,
    symbol: str | None = None,
    side: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    times: bool = True,
) -> list[tuple[datetime, int]] | list[int]:
    """`fills_for_user(user=, key_id=, symbol=, side=).filter(executed_at__gte=since,
    executed_at__lt=before).values_list("executed_at", "pk")[offset:offset + limit]`, each
    bound optional: one key's page of (executed_at, id), newest first, in its index's order.
    With times=False, `.values_list("pk", flat=True)`: the ids alone (one key's page needs no
    times to merge by, and converting 50 of them cost ~0.2 ms)."""
    if limit <= 0:
        return []
    params = [user_id, _prep(Fill, "key", key_id)]
    present = []
    for (column, _), value in zip(
        _PAGE_FILTERS, (symbol.upper() if symbol else None, side, since, before), strict=True
    ):
        present.append(bool(value))
        if value:
            params.append(_prep(Fill, column, value))
    sql = _fill_page_ids_sql(times, *present)
    if not times:
        return [row[0] for row in _fetch(sql, [*params, limit, offset], _PAGE_IDS_ONLY_SPEC)]
    return [tuple(row) for row in _fetch(sql, [*params, limit, offset], _PAGE_IDS_SPEC)]


_PAGE_FILTERS = (("symbol", "="), ("side", "="), ("executed_at", ">="), ("executed_at", "<"))
_PAGE_IDS_SPEC = ((Fill, "executed_at", False), (Fill, "id", False))
_PAGE_IDS_ONLY_SPEC = ((Fill, "id", False),)


@_per_vendor
def _fill_page_ids_sql(times: bool, *present: bool) -> str:
    f, k = _table(Fill), _table(ExchangeKey)  # no aliases: the ORM's own text
    where = [f"{k}.{_q('user_id')} = %s", f"{f}.{_q('key_id')} = %s"]
    for (column, op), used in zip(_PAGE_FILTERS, present, strict=True):
        if used:
            where.append(f"{f}.{_q(column)} {op} %s")
    return (
        f"SELECT {_cols(f, Fill, ('executed_at', 'id') if times else ('id',))} FROM {f}"  # noqa: S608
        f" INNER JOIN {k} ON {f}.{_q('key_id')} = {k}.{_q('id')}"
        f" WHERE {' AND '.join(where)}"
        f" ORDER BY {f}.{_q('executed_at')} DESC, {f}.{_q('id')} DESC LIMIT %s OFFSET %s"
    )


def market_decimal_rows(*, exchanges, symbols) -> list[list]:
    """`MarketInfo.objects.filter(exchange__in=, symbol__in=).values_list("exchange", "symbol",
    "price_decimals", "amount_decimals")`."""
    exchanges, symbols = list(exchanges), list(symbols)
    if not exchanges or not symbols:
        return []
    sql = _market_decimals_sql(len(exchanges), len(symbols))
    return _fetch(sql, [*exchanges, *symbols], _DECIMALS_SPEC)


_DECIMALS_COLUMNS = ("exchange", "symbol", "price_decimals", "amount_decimals")
_DECIMALS_SPEC = tuple((MarketInfo, n, False) for n in _DECIMALS_COLUMNS)


@_per_vendor
def _market_decimals_sql(exchanges: int, symbols: int) -> str:
    return (
        f"SELECT {_cols('m', MarketInfo, _DECIMALS_COLUMNS)}"  # noqa: S608
        f" FROM {_table(MarketInfo)} m WHERE m.{_q('exchange')} IN ({_in(range(exchanges))})"
        f" AND m.{_q('symbol')} IN ({_in(range(symbols))})"
    )


def _instances(sql: str, params, model, fields) -> list:
    """Model instances of `fields` (the others deferred), built as the ORM and raw() build
    them: each value through its field's converters, then `Model.from_db`."""
    conn = db()
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [instance(conn, model, fields, read(conn, fields, row)) for row in rows]


def balances_of_user(*, user_id: int) -> list[Balance]:
    """`Balance.objects.filter(key__user=).order_by("key__label", "key_id", "asset")`, as
    instances (the key is not loaded: the caller attaches its own)."""
    return _instances(_balances_sql(), [user_id], Balance, _BALANCE_FIELDS)


_BALANCE_FIELDS = fields_of(Balance)


@_per_vendor
def _balances_sql() -> str:
    names = [f.column for f in _BALANCE_FIELDS]
    return (
        f"SELECT {', '.join('b.' + _q(n) for n in names)} FROM {_table(Balance)} b"  # noqa: S608
        f" INNER JOIN {_table(ExchangeKey)} k ON b.{_q('key_id')} = k.id"
        f" WHERE k.{_q('user_id')} = %s"
        f" ORDER BY k.{_q('label')} ASC, b.{_q('key_id')} ASC, b.{_q('asset')} ASC"
    )


def market_prices(*, exchanges, symbols) -> list[MarketPrice]:
    """`MarketPrice.objects.filter(exchange__in=, symbol__in=).only("exchange", "symbol",
    "last", "bid", "ask", "fetched_at")`, as instances (the other fields deferred)."""
    exchanges, symbols = list(exchanges), list(symbols)
    if not exchanges or not symbols:
        return []
    sql = _market_prices_sql(len(exchanges), len(symbols))
    return _instances(sql, [*exchanges, *symbols], MarketPrice, _PRICE_FIELDS)


_PRICE_FIELDS = fields_of(
    MarketPrice, ("id", "exchange", "symbol", "last", "bid", "ask", "fetched_at")
)


@_per_vendor
def _market_prices_sql(exchanges: int, symbols: int) -> str:
    names = ", ".join(f"p.{_q(f.column)}" for f in _PRICE_FIELDS)  # in the model's order
    return (
        f"SELECT {names} FROM {_table(MarketPrice)} p"  # noqa: S608
        f" WHERE p.{_q('exchange')} IN ({_in(range(exchanges))})"
        f" AND p.{_q('symbol')} IN ({_in(range(symbols))})"
    )


_DAILY_FILTERS = (("key", "="), ("symbol", "="), ("side", "="), ("day", ">="), ("day", "<="))


def _daily_where(*, user_id, key_id, symbol, side, date_from, date_to) -> tuple[tuple, list]:
    """(shape, params): which filters apply (for the texts below) and the parameters."""
    present, params = [], [user_id]
    values = (key_id, symbol.upper() if symbol else None, side, date_from, date_to)
    for (column, _), value in zip(_DAILY_FILTERS, values, strict=True):
        present.append(bool(value))
        if value:
            params.append(_prep(FillDailyTotal, column, value))
    return tuple(present), params


def _daily_from(present: tuple) -> str:
    where = [f"k.{_q('user_id')} = %s"]
    for (column, op), used in zip(_DAILY_FILTERS, present, strict=True):
        if used:
            field = FillDailyTotal._meta.get_field(column)
            where.append(f"d.{_q(field.column)} {op} %s")
    return (
        f" FROM {_table(FillDailyTotal)} d INNER JOIN {_table(ExchangeKey)} k"
        f" ON d.{_q('key_id')} = k.id WHERE {' AND '.join(where)}"
    )


def fill_totals_rows(
    *,
    user_id: int,
    key_id=None,
    symbol: str | None = None,
    side: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[list[dict], list[dict]]:
    """(per_symbol, fees) of `fills_totals_for_user(user=, **filters)`: the daily totals
    `.values("symbol", "side").annotate(amount=Sum, cost=Sum, count=Sum).order_by("symbol",
    "side")` and `.exclude(fee_currency="").values("fee_currency").annotate(fee=Sum("fee"))
    .order_by("fee_currency")`."""
    present, params = _daily_where(
        user_id=user_id,
        key_id=key_id,
        symbol=symbol,
        side=side,
        date_from=date_from,
        date_to=date_to,
    )
    names = ("symbol", "side", "amount", "cost", "count")
    rows = _fetch(_totals_sql(present), params, _TOTALS_SPEC)
    per_symbol = [dict(zip(names, row, strict=True)) for row in rows]
    rows = _fetch(_fees_sql(present), [*params, ""], _FEES_SPEC)
    fees = [{"fee_currency": currency, "fee": fee} for currency, fee in rows]
    return per_symbol, fees


_TOTALS_SPEC = (
    (FillDailyTotal, "symbol", False),
    (FillDailyTotal, "side", False),
    (FillDailyTotal, "amount", True),
    (FillDailyTotal, "cost", True),
    (FillDailyTotal, "count", True),
)
_FEES_SPEC = ((FillDailyTotal, "fee_currency", False), (FillDailyTotal, "fee", True))


@_per_vendor
def _totals_sql(present: tuple) -> str:
    d = "d."
    return (
        f"SELECT {d}{_q('symbol')}, {d}{_q('side')}, {_sum(d + _q('amount'))},"  # noqa: S608
        f" {_sum(d + _q('cost'))}, SUM({d}{_q('count')}){_daily_from(present)}"
        f" GROUP BY {d}{_q('symbol')}, {d}{_q('side')} ORDER BY 1 ASC, 2 ASC"
    )


@_per_vendor
def _fees_sql(present: tuple) -> str:
    d = "d."
    return (
        f"SELECT {d}{_q('fee_currency')}, {_sum(d + _q('fee'))}{_daily_from(present)}"  # noqa: S608
        f" AND NOT ({d}{_q('fee_currency')} = %s) GROUP BY {d}{_q('fee_currency')} ORDER BY 1 ASC"
    )


def fill_day_count_rows(
    *,
    user_id: int,
    key_id=None,
    symbol: str | None = None,
    side: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[list]:
    """fill_day_counts_for_user's daily totals `.values_list("day").annotate(n=Sum("count"))
    .order_by("-day")`: [day, fills] per UTC day, newest first."""
    present, params = _daily_where(
        user_id=user_id,
        key_id=key_id,
        symbol=symbol,
        side=side,
        date_from=date_from,
        date_to=date_to,
    )
    return _fetch(_day_counts_sql(present), params, _DAY_COUNTS_SPEC)


_DAY_COUNTS_SPEC = ((FillDailyTotal, "day", False), (FillDailyTotal, "count", True))


@_per_vendor
def _day_counts_sql(present: tuple) -> str:
    return (
        f"SELECT d.{_q('day')}, SUM(d.{_q('count')}){_daily_from(present)}"  # noqa: S608
        f" GROUP BY d.{_q('day')} ORDER BY 1 DESC"
    )

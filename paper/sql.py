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
"""

from collections.abc import Callable

from django.db import connection

from paper.models import PaperAccount, PaperApiKey, PaperBalance, PaperOrder

OPEN = [str(status) for status in PaperOrder.OPEN_STATUSES]
RESTING_TYPES = [str(PaperOrder.Type.LIMIT), str(PaperOrder.Type.LIMIT_MAKER)]
# The columns a cancel changes (order_cancel_locked).
CANCEL_FIELDS = ("status", "locked_amount", "updated_ms")

_statements: dict[tuple, str] = {}
_loaders: dict[tuple, Callable] = {}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(count: int) -> str:
    return ", ".join(["%s"] * count)


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _statement(name: str, build: Callable[[], str], *shape) -> str:
    """The text of a statement, built once per vendor (and shape, e.g. a number of values)."""
    key = (connection.vendor, name, *shape)
    text = _statements.get(key)
    if text is None:
        text = _statements[key] = build()
    return text


def _make_loader(model, columns: tuple[str, ...]) -> Callable:
    """A function turning one row into an instance, as RawModelIterable does."""
    by_column = {f.column: f for f in model._meta.concrete_fields}
    missing = set(by_column) - set(columns)
    if missing:
        raise ValueError(f"{model.__name__} rows need every column; missing {sorted(missing)}")
    converters = []  # (position, [converter, ...], expression), as compiler.get_converters
    for position, column in enumerate(columns):
        field = by_column.get(column)
        if field is not None:
            expression = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(expression)
            found += expression.get_db_converters(connection)
            if found:
                converters.append((position, found, expression))
    order = [columns.index(f.column) for f in model._meta.concrete_fields]
    extras = [(pos, c) for pos, c in enumerate(columns) if c not in by_column]
    alias, from_db = connection.alias, model.from_db

    def load(row):
        values = list(row)
        for position, functions, expression in converters:
            value = values[position]
            for convert in functions:
                value = convert(value, expression, connection)
            values[position] = value
        instance = from_db(alias, None, [values[pos] for pos in order])
        for position, column in extras:
            setattr(instance, column, values[position])
        return instance

    return load


def _fetch(model, sql: str, params) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = tuple(column[0] for column in cursor.description)
        key = (connection.alias, model, columns)
        load = _loaders.get(key)
        if load is None:
            load = _loaders[key] = _make_loader(model, columns)
        return [load(row) for row in cursor.fetchall()]


def key_with_open_orders(*, api_key: str) -> PaperApiKey | None:
    """`PaperApiKey.objects.annotate(has_open_orders=Exists(open orders of its account))
    .get(api_key=)`, or None."""
    sql = _statement(
        "key_with_open_orders",
        lambda: (
            f"SELECT k.*, EXISTS(SELECT 1 FROM {_table(PaperOrder)} o"  # noqa: S608
            f" WHERE o.account_id = k.account_id AND o.status IN ({_in(len(OPEN))}))"
            f" AS has_open_orders FROM {_table(PaperApiKey)} k WHERE k.api_key = %s"
        ),
    )
    for key in _fetch(PaperApiKey, sql, [*OPEN, api_key]):
        key.has_open_orders = bool(key.has_open_orders)  # SQLite answers 0/1
        return key
    return None


def account_write_seq_bump(*, account_id: int) -> None:
    """`PaperAccount.objects.filter(pk=).update(write_seq=F("write_seq") + 1)`."""
    sql = _statement(
        "account_write_seq_bump",
        lambda: f"UPDATE {_table(PaperAccount)} SET write_seq = write_seq + 1 WHERE id = %s",  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id])


def balances_for_update(*, account_id: int, assets: list[str]) -> list[PaperBalance]:
    """`PaperBalance.objects.select_for_update().filter(account_id=, asset__in=)
    .order_by("asset")`."""
    if not assets:
        return []
    sql = _statement(
        "balances_for_update",
        lambda: (
            f"SELECT * FROM {_table(PaperBalance)} WHERE account_id = %s"  # noqa: S608
            f" AND asset IN ({_in(len(assets))}) ORDER BY asset{_for_update()}"
        ),
        len(assets),
    )
    return _fetch(PaperBalance, sql, [account_id, *assets])


def balances_save(*, rows) -> None:
    """`row.save(update_fields=["free", "locked"])` for each row."""
    free, locked = (PaperBalance._meta.get_field(name) for name in ("free", "locked"))
    sql = _statement(
        "balances_save",
        lambda: f"UPDATE {_table(PaperBalance)} SET free = %s, locked = %s WHERE id = %s",  # noqa: S608
    )
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                sql,
                [
                    free.get_db_prep_save(row.free, connection),
                    locked.get_db_prep_save(row.locked, connection),
                    row.pk,
                ],
            )


def order_for_update(*, account_id: int, symbol: str, order_id: int) -> PaperOrder | None:
    """`PaperOrder.objects.select_for_update().filter(account_id=, symbol=, pk=).first()`."""
    sql = _statement(
        "order_for_update",
        lambda: (
            f"SELECT * FROM {_table(PaperOrder)}"  # noqa: S608
            f" WHERE account_id = %s AND symbol = %s AND id = %s{_for_update()}"
        ),
    )
    return next(iter(_fetch(PaperOrder, sql, [account_id, symbol, order_id])), None)


def open_client_id_taken(*, account_id: int, client_order_id: str) -> bool:
    """`PaperOrder.objects.filter(account_id=, status__in=OPEN, client_order_id=).exists()`."""
    sql = _statement(
        "open_client_id_taken",
        lambda: (
            f"SELECT 1 FROM {_table(PaperOrder)} WHERE account_id = %s"  # noqa: S608
            f" AND status IN ({_in(len(OPEN))}) AND client_order_id = %s LIMIT 1"
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id, *OPEN, client_order_id])
        return cursor.fetchone() is not None


def resting_orders(*, account_id: int, symbol: str | None = None) -> list[PaperOrder]:
    """`PaperOrder.objects.filter(account_id=, status__in=OPEN, type__in=RESTING_TYPES
    [, symbol=]).order_by("id")`."""
    params = [account_id, *OPEN, *RESTING_TYPES]
    if symbol:
        params.append(symbol)
    sql = _statement(
        "resting_orders",
        lambda: (
            f"SELECT * FROM {_table(PaperOrder)} WHERE account_id = %s"  # noqa: S608
            f" AND status IN ({_in(len(OPEN))}) AND type IN ({_in(len(RESTING_TYPES))})"
            f"{' AND symbol = %s' if symbol else ''} ORDER BY id"
        ),
        bool(symbol),
    )
    return _fetch(PaperOrder, sql, params)


def order_insert(*, order: PaperOrder) -> None:
    """`order.save()` of a new order: one INSERT, then the instance has its id and is saved."""
    meta = PaperOrder._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    returning = connection.features.can_return_columns_from_insert
    quote = connection.ops.quote_name
    sql = _statement(
        "order_insert",
        lambda: (
            f"INSERT INTO {_table(PaperOrder)}"  # noqa: S608
            f" ({', '.join(quote(f.column) for f in fields)}) VALUES ({_in(len(fields))})"
            + (f" RETURNING {quote(meta.pk.column)}" if returning else "")
        ),
    )
    values = [f.get_db_prep_save(f.pre_save(order, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returning:
            order.pk = cursor.fetchone()[0]
        else:
            order.pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    order._state.adding, order._state.db = False, connection.alias


def order_cancel_save(*, order: PaperOrder) -> None:
    """`order.save(update_fields=["status", "locked_amount", "updated_ms"])`."""
    fields = [PaperOrder._meta.get_field(name) for name in CANCEL_FIELDS]
    sql = _statement(
        "order_cancel_save",
        lambda: (
            f"UPDATE {_table(PaperOrder)} SET "  # noqa: S608
            + ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
            + " WHERE id = %s"
        ),
    )
    values = [f.get_db_prep_save(f.pre_save(order, False), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, order.pk])

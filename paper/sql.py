"""The statements every signed request runs, written once instead of built by the ORM.

Measured in process (bench/paper_exchange.py): building these queries with the ORM cost
several times what running them does (about 1 ms of CPU each for a lookup SQLite answers in
0.05 ms), and they made up most of a signed order request. Each function states the ORM
expression it replaces; tests/paper/test_sql.py checks each against it, and the whole
suite runs on SQLite and PostgreSQL. Rows still come back as model instances through
`raw()`, which applies the fields' converters (decimals, booleans, decryption).

Only quoted table names from the models' _meta and "%s" placeholders are interpolated.
"""

from django.db import connection

from paper.models import PaperAccount, PaperApiKey, PaperBalance, PaperOrder

OPEN = [str(status) for status in PaperOrder.OPEN_STATUSES]
RESTING_TYPES = [str(PaperOrder.Type.LIMIT), str(PaperOrder.Type.LIMIT_MAKER)]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(values) -> str:
    return ", ".join(["%s"] * len(values))


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def key_with_open_orders(*, api_key: str) -> PaperApiKey | None:
    """`PaperApiKey.objects.annotate(has_open_orders=Exists(open orders of its account))
    .get(api_key=)`, or None."""
    sql = (
        f"SELECT k.*, EXISTS(SELECT 1 FROM {_table(PaperOrder)} o"  # noqa: S608
        f" WHERE o.account_id = k.account_id AND o.status IN ({_in(OPEN)})) AS has_open_orders"
        f" FROM {_table(PaperApiKey)} k WHERE k.api_key = %s"
    )
    for key in PaperApiKey.objects.raw(sql, [*OPEN, api_key]):
        key.has_open_orders = bool(key.has_open_orders)  # SQLite answers 0/1
        return key
    return None


def account_write_seq_bump(*, account_id: int) -> None:
    """`PaperAccount.objects.filter(pk=).update(write_seq=F("write_seq") + 1)`."""
    sql = f"UPDATE {_table(PaperAccount)} SET write_seq = write_seq + 1 WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id])


def balances_for_update(*, account_id: int, assets: list[str]) -> list[PaperBalance]:
    """`PaperBalance.objects.select_for_update().filter(account_id=, asset__in=)
    .order_by("asset")`."""
    if not assets:
        return []
    sql = (
        f"SELECT * FROM {_table(PaperBalance)} WHERE account_id = %s"  # noqa: S608
        f" AND asset IN ({_in(assets)}) ORDER BY asset{_for_update()}"
    )
    return list(PaperBalance.objects.raw(sql, [account_id, *assets]))


def balances_save(*, rows) -> None:
    """`row.save(update_fields=["free", "locked"])` for each row."""
    free, locked = (PaperBalance._meta.get_field(name) for name in ("free", "locked"))
    sql = f"UPDATE {_table(PaperBalance)} SET free = %s, locked = %s WHERE id = %s"  # noqa: S608
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
    sql = (
        f"SELECT * FROM {_table(PaperOrder)}"  # noqa: S608
        f" WHERE account_id = %s AND symbol = %s AND id = %s{_for_update()}"
    )
    return next(iter(PaperOrder.objects.raw(sql, [account_id, symbol, order_id])), None)


def open_client_id_taken(*, account_id: int, client_order_id: str) -> bool:
    """`PaperOrder.objects.filter(account_id=, status__in=OPEN, client_order_id=).exists()`."""
    sql = (
        f"SELECT 1 FROM {_table(PaperOrder)} WHERE account_id = %s"  # noqa: S608
        f" AND status IN ({_in(OPEN)}) AND client_order_id = %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id, *OPEN, client_order_id])
        return cursor.fetchone() is not None


def resting_orders(*, account_id: int, symbol: str | None = None) -> list[PaperOrder]:
    """`PaperOrder.objects.filter(account_id=, status__in=OPEN, type__in=RESTING_TYPES
    [, symbol=]).order_by("id")`."""
    params = [account_id, *OPEN, *RESTING_TYPES]
    by_symbol = ""
    if symbol:
        by_symbol, params = " AND symbol = %s", [*params, symbol]
    sql = (
        f"SELECT * FROM {_table(PaperOrder)} WHERE account_id = %s"  # noqa: S608
        f" AND status IN ({_in(OPEN)}) AND type IN ({_in(RESTING_TYPES)}){by_symbol}"
        " ORDER BY id"
    )
    return list(PaperOrder.objects.raw(sql, params))

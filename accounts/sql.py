"""Reads every logged-in page makes, written once instead of built by the ORM per request.

Measured in process through the WSGI handler (bench/pages.py): the ORM spent about 1.5 ms of
CPU building the two permission queries behind one `user.has_perm()` and 0.4 ms on the
unread-notification count, for statements the database answers in a tenth of that. Each
function states the expression it replaces; tests/accounts/test_sql.py checks each against
it, and the whole suite runs on SQLite and PostgreSQL.
Only quoted table and column names from the models' _meta and "%s" placeholders are
interpolated.
"""

from functools import lru_cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections

from accounts.models import ExchangeKey, Notification
from keytrade.rawsql import db, fields_of, instance, quote, read, table


def _column(conn, model, name: str) -> str:
    return quote(conn, model._meta.get_field(name).column)


# Statement texts depend only on the database vendor (its quoting) and the models: each is
# built once per process and vendor (building one cost ~0.2 ms of a page, quoting included).


@lru_cache(maxsize=8)
def _permission_sql(vendor: str) -> str:
    conn = db()
    user_model = get_user_model()
    direct = user_model.user_permissions.through
    member = user_model.groups.through
    granted = Group.permissions.through
    user_column = user_model._meta.model_name
    return (
        f"SELECT ct.{quote(conn, 'app_label')}, p.{quote(conn, 'codename')}"  # noqa: S608
        f" FROM {table(conn, Permission)} p INNER JOIN {table(conn, ContentType)} ct"
        f" ON p.{_column(conn, Permission, 'content_type')} = ct.id"
        f" WHERE p.id IN (SELECT {_column(conn, direct, 'permission')} FROM {table(conn, direct)}"
        f" WHERE {_column(conn, direct, user_column)} = %s)"
        f" OR p.id IN (SELECT g.{_column(conn, granted, 'permission')}"
        f" FROM {table(conn, granted)} g INNER JOIN {table(conn, member)} m"
        f" ON g.{_column(conn, granted, 'group')} = m.{_column(conn, member, 'group')}"
        f" WHERE m.{_column(conn, member, user_column)} = %s)"
    )


def permission_names(*, user_id: int) -> frozenset[str]:
    """ModelBackend's permission set of an active, non-superuser user, in one statement:
    `{*backend.get_user_permissions(user), *backend.get_group_permissions(user)}`, each
    "app_label.codename"."""
    conn = db()
    with conn.cursor() as cursor:
        cursor.execute(_permission_sql(conn.vendor), [user_id, user_id])
        return frozenset(f"{app_label}.{codename}" for app_label, codename in cursor.fetchall())


@lru_cache(maxsize=8)
def _unread_sql(vendor: str) -> str:
    conn = db()
    return (
        f"SELECT COUNT(*) FROM {table(conn, Notification)}"  # noqa: S608
        f" WHERE {_column(conn, Notification, 'user')} = %s"
        f" AND {_column(conn, Notification, 'read_at')} IS NULL"
    )


def notification_unread_count(*, user_id: int) -> int:
    """`Notification.objects.filter(user=, read_at__isnull=True).count()`."""
    conn = db()
    with conn.cursor() as cursor:
        cursor.execute(_unread_sql(conn.vendor), [user_id])
        return cursor.fetchone()[0]


@lru_cache(maxsize=32)
def _keys_sql(vendor: str, fields: tuple | None) -> tuple[str, list]:
    from accounts.services.keys import SECRET_FIELDS

    conn = db()
    if fields is None:
        names = [f.name for f in ExchangeKey._meta.concrete_fields if f.name not in SECRET_FIELDS]
    else:
        names = ["id", *(name for name in fields if name != "id")]
        if set(names) & set(SECRET_FIELDS):
            raise ValueError("Credentials are never listed.")
    selected = fields_of(ExchangeKey, names)  # in the model's order, as from_db takes them
    columns = ", ".join(quote(conn, f.column) for f in selected)
    sql = (
        f"SELECT {columns} FROM {table(conn, ExchangeKey)}"  # noqa: S608
        f" WHERE {_column(conn, ExchangeKey, 'user')} = %s"
        f" ORDER BY {_column(conn, ExchangeKey, 'created_at')} DESC"
    )
    return sql, selected


def keys_of_user(*, user_id: int, fields=None) -> list[ExchangeKey]:
    """`ExchangeKey.objects.filter(user=).defer(*SECRET_FIELDS).order_by("-created_at")`, or
    with `fields`, `.only(*fields)`: instances built as the ORM builds them (each value
    through its field's converters, `Model.from_db`), never loading the credential columns
    (they stay deferred: reading one would load it, as with defer())."""
    conn = db()
    sql, selected = _keys_sql(conn.vendor, None if fields is None else tuple(fields))
    with conn.cursor() as cursor:
        cursor.execute(sql, [user_id])
        rows = cursor.fetchall()
    return [instance(conn, ExchangeKey, selected, read(conn, selected, row)) for row in rows]


@lru_cache(maxsize=8)
def _user_sql(vendor: str, using: str, model) -> tuple[str, list]:
    conn = connections[using]
    selected = fields_of(model)
    columns = ", ".join(quote(conn, f.column) for f in selected)
    pk = quote(conn, model._meta.pk.column)
    return f"SELECT {columns} FROM {table(conn, model)} WHERE {pk} = %s", selected  # noqa: S608


def user_by_pk(*, model, using: str, pk: int):
    """`model.objects.all().get(pk=pk)` for the user model on the database `using` (None when
    there is no such user): every field, converted by the fields, built by `Model.from_db`."""
    conn = connections[using]
    sql, selected = _user_sql(conn.vendor, using, model)
    with conn.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    return instance(conn, model, selected, read(conn, selected, row))

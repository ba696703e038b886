"""Reads every logged-in page makes, written once instead of built by the ORM per request.

Measured in process through the WSGI handler (bench/pages.py): the ORM spent about 1.5 ms of
CPU building the two permission queries behind one `user.has_perm()` and 0.4 ms on the
unread-notification count, for statements the database answers in a tenth of that. Each
function states the expression it replaces; tests/accounts/test_sql.py checks each against
it, and the whole suite runs on SQLite and PostgreSQL.
Only quoted table and column names from the models' _meta and "%s" placeholders are
interpolated.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounts.models import ExchangeKey, Notification
from keytrade.rawsql import db, quote, table


def _q(name: str) -> str:
    return quote(db(), name)


def _table(model) -> str:
    return table(db(), model)


def _column(model, name: str) -> str:
    return _q(model._meta.get_field(name).column)


def permission_names(*, user_id: int) -> frozenset[str]:
    """ModelBackend's permission set of an active, non-superuser user, in one statement:
    `{*backend.get_user_permissions(user), *backend.get_group_permissions(user)}`, each
    "app_label.codename"."""
    user_model = get_user_model()
    direct = user_model.user_permissions.through
    member = user_model.groups.through
    granted = Group.permissions.through
    sql = (
        f"SELECT ct.{_q('app_label')}, p.{_q('codename')} FROM {_table(Permission)} p"  # noqa: S608
        f" INNER JOIN {_table(ContentType)} ct ON p.{_column(Permission, 'content_type')} = ct.id"
        f" WHERE p.id IN (SELECT {_column(direct, 'permission')} FROM {_table(direct)}"
        f" WHERE {_column(direct, user_model._meta.model_name)} = %s)"
        f" OR p.id IN (SELECT g.{_column(granted, 'permission')} FROM {_table(granted)} g"
        f" INNER JOIN {_table(member)} m"
        f" ON g.{_column(granted, 'group')} = m.{_column(member, 'group')}"
        f" WHERE m.{_column(member, user_model._meta.model_name)} = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, user_id])
        return frozenset(f"{app_label}.{codename}" for app_label, codename in cursor.fetchall())


def notification_unread_count(*, user_id: int) -> int:
    """`Notification.objects.filter(user=, read_at__isnull=True).count()`."""
    sql = (
        f"SELECT COUNT(*) FROM {_table(Notification)}"  # noqa: S608
        f" WHERE {_column(Notification, 'user')} = %s"
        f" AND {_column(Notification, 'read_at')} IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        return cursor.fetchone()[0]


def keys_of_user(*, user_id: int, fields=None) -> list[ExchangeKey]:
    """`ExchangeKey.objects.filter(user=).defer(*SECRET_FIELDS).order_by("-created_at")`, or
    with `fields`, `.only(*fields)`: instances through `raw()` (the fields' converters
    apply), never loading the credential columns (they stay deferred: reading one would load
    it, as with defer())."""
    from accounts.services.keys import SECRET_FIELDS

    if fields is None:
        names = [f.name for f in ExchangeKey._meta.concrete_fields if f.name not in SECRET_FIELDS]
    else:
        names = ["id", *(name for name in fields if name != "id")]
        if set(names) & set(SECRET_FIELDS):
            raise ValueError("Credentials are never listed.")
    columns = ", ".join(_column(ExchangeKey, name) for name in names)
    sql = (
        f"SELECT {columns} FROM {_table(ExchangeKey)}"  # noqa: S608
        f" WHERE {_column(ExchangeKey, 'user')} = %s"
        f" ORDER BY {_column(ExchangeKey, 'created_at')} DESC"
    )
    return list(ExchangeKey.objects.raw(sql, [user_id]))

"""A conditional one-row UPDATE without the ORM's per-query Python, for the tick's hot path.

`QuerySet.filter(...).update(...)` spends about half a millisecond of Python cloning,
resolving and compiling the query: more than a dry-run bot's whole decision, and the largest
single cost of storing a tick. This writes the same statement directly. Column names come
from the model's fields and every value goes through its field's own `get_db_prep_save` /
`get_db_prep_value`, so JSON, Decimal, UUID and datetimes are adapted exactly as the ORM
adapts them, on SQLite and on PostgreSQL; values and conditions travel as parameters.
"""

from __future__ import annotations

from django.db import connections


def row_update(model, *, pk, values: dict, where: dict, using: str = "default") -> int:
    """UPDATE one row of `model` by primary key when `where` holds; return rows changed (0/1).

    `where` maps field names to a value (equality) or, with an `__in` suffix, to a sequence.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = model._meta
    sets, params = [], []
    for name, value in values.items():
        field = meta.get_field(name)
        sets.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    conditions = [f"{quote(meta.pk.column)} = %s"]
    params.append(meta.pk.get_db_prep_value(pk, connection))
    for name, wanted in where.items():
        if name.endswith("__in"):
            field = meta.get_field(name.removesuffix("__in"))
            choices = [field.get_db_prep_value(value, connection) for value in wanted]
            conditions.append(f"{quote(field.column)} IN ({', '.join(['%s'] * len(choices))})")
            params.extend(choices)
        else:
            field = meta.get_field(name)
            conditions.append(f"{quote(field.column)} = %s")
            params.append(field.get_db_prep_value(wanted, connection))
    # Identifiers come from the model's metadata, quoted; every value is a bound parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount

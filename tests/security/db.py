"""Whole-database snapshots: 'nothing changed' means every row of every model is as it was."""

from django.apps import apps
from django.db import connection

# Rows a refused request is expected to write: the audit trail (authz_denied) and sessions.
EXPECTED_WRITES = {"accounts.auditevent", "accounts.auditchainhead", "sessions.session"}


# Columns a login writes (the test clients log in between snapshots).
EXPECTED_COLUMNS = {"accounts.user": {"last_login"}}


def _rows(model) -> list[dict]:
    ignored = EXPECTED_COLUMNS.get(model._meta.label_lower, set())
    rows = model._default_manager.order_by("pk").values()
    return [{k: v for k, v in row.items() if k not in ignored} for row in rows]


def snapshot() -> dict[str, list[dict]]:
    """Every row of every managed model (except EXPECTED_WRITES), as values, ordered by pk."""
    return {
        model._meta.label_lower: _rows(model)
        for model in apps.get_models()
        if model._meta.managed and model._meta.label_lower not in EXPECTED_WRITES
    }


def changed_tables(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def row_counts() -> dict[str, int]:
    """Rows per model (except EXPECTED_WRITES), in one query: fuzzing calls this a lot."""
    models = [
        m
        for m in apps.get_models()
        if m._meta.managed and m._meta.label_lower not in EXPECTED_WRITES
    ]
    quote = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")  # noqa: S608 - table names from the app registry
        row = cursor.fetchone()
    return {m._meta.label_lower: n for m, n in zip(models, row, strict=True)}

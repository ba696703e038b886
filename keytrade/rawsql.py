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

from django.db import DEFAULT_DB_ALIAS, connections


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
    return field.get_db_prep_save(value, conn)


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

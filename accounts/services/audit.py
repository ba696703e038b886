"""The single write path for the audit trail, and its verification."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from accounts.models import AuditChainHead, AuditEvent
from keytrade import rawsql
from keytrade.logging import redact

GENESIS_HASH = "0" * 64
_FORBIDDEN_DETAIL_KEYS = {"secret", "passphrase", "password", "api_key", "apikey", "token"}


def client_ip(request) -> str | None:
    """Return the client's address: REMOTE_ADDR, or the forwarded one behind a trusted proxy."""
    if request is None:
        return None
    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR") or None


# Values a JSON round trip gives back unchanged (exact types: no enums, no floats).
_JSON_SAME = frozenset({str, int, bool, type(None)})


def _clean_detail(detail: dict | None) -> dict:
    clean, plain = {}, True
    for key, value in (detail or {}).items():
        if key.lower() in _FORBIDDEN_DETAIL_KEYS:
            raise ValueError(f"audit detail must not carry {key!r}")
        if isinstance(value, str):
            value = redact(value)
        plain = plain and type(key) is str and type(value) in _JSON_SAME
        clean[key] = value
    if plain:
        return clean  # flat text, integers, booleans and None: already what JSON stores
    # Round-trip through JSON now so the hash covers exactly what the database stores.
    return json.loads(json.dumps(clean, default=str))


def event_hash(event: AuditEvent) -> str:
    """Hash an event's content together with the previous event's hash."""
    return _content_hash({name: getattr(event, name) for name in _HASHED})


# What an event's hash covers: every column but the hash itself.
_HASHED = (
    "seq",
    "created_at",
    "actor_id",
    "actor_username",
    "event_type",
    "outcome",
    "target_type",
    "target_id",
    "ip_address",
    "user_agent",
    "detail",
    "prev_hash",
)


def _content_hash(values: dict) -> str:
    content = {name: values[name] for name in _HASHED}
    content["created_at"] = content["created_at"].isoformat()
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _locked_head() -> AuditChainHead:
    """Lock the chain head, creating it for an empty trail (e.g. after a database flush)."""
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is not None:
        return head
    if AuditEvent.objects.exists():
        # Recreating the head over existing events would fork the chain; refuse loudly.
        raise RuntimeError("audit chain head is missing while events exist; run verify_audit")
    AuditChainHead.objects.get_or_create(id=1)
    return AuditChainHead.objects.select_for_update().get(id=1)


@lru_cache(maxsize=4)
def _append_sql(vendor: str, for_update: bool) -> tuple[str, str, str]:
    """The three statements of an append, built once from the models' metadata.

    Every order writes three audit rows, each under the chain's lock; compiling these through
    the ORM cost more than the rest of the append together, so they are plain SQL. The columns
    and their database-side adaptation still come from the model fields (see _append).
    """
    # Identifiers come from the models' metadata, quoted; every value is a query parameter.
    q = connection.ops.quote_name
    head, event = q(AuditChainHead._meta.db_table), AuditEvent._meta
    seq, last_hash, pk = q("last_seq"), q("last_hash"), q("id")
    lock = f"SELECT {seq}, {last_hash} FROM {head} WHERE {pk} = %s"  # noqa: S608
    if for_update:
        lock += " FOR UPDATE"
    columns = ", ".join(q(f.column) for f in event.concrete_fields)
    marks = ", ".join(["%s"] * len(event.concrete_fields))
    insert = f"INSERT INTO {q(event.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    advance = f"UPDATE {head} SET {seq} = %s, {last_hash} = %s WHERE {pk} = %s"  # noqa: S608
    return lock, insert, advance


def _statements(conn) -> tuple[str, str, str]:
    return _append_sql(conn.vendor, conn.features.has_select_for_update)


def _head_locked_state(conn) -> tuple[int, str] | None:
    """Lock the head row and return (last_seq, last_hash); None when there is no head."""
    return rawsql.run(conn, _statements(conn)[0], [1], fetch="one")


_FIELDS = AuditEvent._meta.concrete_fields
_ATTNAMES = tuple(f.attname for f in _FIELDS)


def _append(conn, values: dict, last_seq: int, last_hash: str) -> AuditEvent:
    """Write the event (`values` by column, all but the chain's own) after the locked head."""
    _, insert, advance = _statements(conn)
    values["seq"], values["prev_hash"] = last_seq + 1, last_hash
    values["created_at"] = timezone.now()
    values["hash"] = _content_hash(values)
    row = [values[name] for name in _ATTNAMES]
    # Values adapted as the fields' get_db_prep_save adapts them (keytrade.rawsql.prep_row).
    rawsql.run(conn, insert, rawsql.prep_row(conn, _FIELDS, row))
    rawsql.run(conn, advance, [values["seq"], values["hash"], 1])
    # The saved event, as Model.from_db would build it (keytrade.rawsql.loaded).
    return rawsql.loaded(AuditEvent, conn.alias, _ATTNAMES, row)


def _append_at_head(conn, values: dict) -> AuditEvent | None:
    # Locking the head row serialises appends across processes, so seq and prev_hash agree.
    state = _head_locked_state(conn)
    return None if state is None else _append(conn, values, *state)


def audit_record(
    *,
    event_type: str,
    actor=None,
    request=None,
    target=None,
    target_type: str = "",
    target_id: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event to the audit chain inside the caller's transaction."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    # Everything that does not depend on the chain is prepared before taking its lock.
    values = {
        "actor_id": getattr(actor, "pk", None),
        "actor_username": (getattr(actor, "get_username", lambda: "")() or "")[:150],
        "event_type": event_type,
        "outcome": outcome,
        "target_type": target_type[:64],
        "target_id": str(target_id)[:64],
        "ip_address": client_ip(request),
        "user_agent": (request.META.get("HTTP_USER_AGENT", "") if request else "")[:512],
        "detail": _clean_detail(detail),
    }
    # The connection wrapper itself: each read through django.db.connection costs a lookup.
    conn = connections[DEFAULT_DB_ALIAS]
    # No savepoint of its own: a failed append fails the caller's transaction with it.
    with rawsql.atomic_joined(conn):
        event = _append_at_head(conn, values)
    if event is None:  # an empty trail (after a flush), or a deleted head: the careful path
        with transaction.atomic():
            head = _locked_head()
            event = _append(conn, values, head.last_seq, head.last_hash)
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def _iter_events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)


def audit_verify() -> ChainBreak | None:
    """Walk the chain from the start; return the first broken link, or None if it is intact."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    for event in _iter_events():
        if event.seq != expected_seq:
            return ChainBreak(
                expected_seq, f"row #{expected_seq} is missing (next is #{event.seq})"
            )
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, "prev_hash does not match the previous row")
        if event_hash(event) != event.hash:
            return ChainBreak(event.seq, "content does not match its hash")
        expected_seq, prev_hash = event.seq + 1, event.hash
    head = AuditChainHead.objects.filter(id=1).first()
    if head and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash):
        return ChainBreak(
            expected_seq, f"chain ends at #{expected_seq - 1} but head says #{head.last_seq}"
        )
    return None

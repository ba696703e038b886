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
    content = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "event_type": event.event_type,
        "outcome": event.outcome,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }
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


def _head_locked_state(cursor, conn) -> tuple[int, str] | None:
    """Lock the head row and return (last_seq, last_hash); None when there is no head."""
    cursor.execute(_statements(conn)[0], [1])
    return cursor.fetchone()


def _append(cursor, conn, event: AuditEvent, last_seq: int, last_hash: str) -> None:
    _, insert, advance = _statements(conn)
    event.seq, event.prev_hash = last_seq + 1, last_hash
    event.created_at = timezone.now()
    event.hash = event_hash(event)
    fields = AuditEvent._meta.concrete_fields
    cursor.execute(insert, [f.get_db_prep_save(getattr(event, f.attname), conn) for f in fields])
    cursor.execute(advance, [event.seq, event.hash, 1])
    event._state.adding, event._state.db = False, conn.alias


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
    event = AuditEvent(
        actor_id=getattr(actor, "pk", None),
        actor_username=(getattr(actor, "get_username", lambda: "")() or "")[:150],
        event_type=event_type,
        outcome=outcome,
        target_type=target_type[:64],
        target_id=str(target_id)[:64],
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:512],
        detail=_clean_detail(detail),
    )
    # The connection wrapper itself: each read through django.db.connection costs a lookup.
    conn = connections[DEFAULT_DB_ALIAS]
    # No savepoint of its own: a failed append fails the caller's transaction with it.
    with transaction.atomic(savepoint=False), conn.cursor() as cursor:
        # Locking the head row serialises appends across processes, so seq and prev_hash agree.
        state = _head_locked_state(cursor, conn)
        if state is not None:
            _append(cursor, conn, event, *state)
    if state is None:  # an empty trail (after a flush), or a deleted head: the careful path
        with transaction.atomic(), conn.cursor() as cursor:
            head = _locked_head()
            _append(cursor, conn, event, head.last_seq, head.last_hash)
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

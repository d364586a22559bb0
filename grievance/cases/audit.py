"""The append-only, hash-chained audit trail.

Each event's hash covers the previous hash and the event's own fields, so
editing, deleting or reordering any event breaks every hash after it;
`verify_chain` (the `verify-audit` command) finds the first break. Details
hold ids and codes only, never personal data or message text.

The hash is keyed (HMAC-SHA256 under a key from the key ring, which never
lives in the database): someone who can write to the database but does not
hold the keys cannot recompute the chain after an edit to hide it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, bindparam, insert, select, update

from grievance import crypto, pg_statements
from grievance.cases.models import AuditHead, CaseEvent
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db

GENESIS = "0" * 64

# Built once and run on the session's connection (see `column_rows`): every
# audited action, each case view among them, runs both. An AuditHead object
# in the session is not updated by them (nor was it before, by the ORM).
_ADVANCE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq + 1)
    .returning(AuditHead.seq, AuditHead.last_hash)
)
_EVENT_FIELDS = ("seq", "case_id", "actor_id", "kind", "detail", "created_at", "prev_hash", "hash")
# Parameters named apart from every column: SQLAlchemy would add a column
# named by a parameter to the statement (the WITH's UPDATE would set `seq`).
_APPEND = insert(CaseEvent).values(
    {name: bindparam(f"e_{name}", type_=CaseEvent.__table__.c[name].type) for name in _EVENT_FIELDS}
)
_SET_LAST_HASH = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(last_hash=bindparam("e_hash", type_=CaseEvent.__table__.c.hash.type))
)
# PostgreSQL writes the event and the head's new hash in one statement (a
# data-modifying WITH, which SQLite lacks): a round trip fewer for every
# audited action, each case view among them.
_APPEND_AND_SET_HEAD = _APPEND.add_cte(_SET_LAST_HASH.cte("set_head"))


# The optimistic write (PostgreSQL, no transaction open; see `record`): the
# head read on its own, then one statement that moves the head only if it
# is still where it was read, and writes the event only if it moved.
_READ_HEAD = select(AuditHead.seq, AuditHead.last_hash).where(AuditHead.id == 1)


@functools.cache
def _append_if_moved(along_if_moved: Callable[[Any], Executable] | None) -> Executable:
    """The event, written from the head's move (none if it did not move),
    and `along_if_moved(moved)` with it; built once per caller's `along`."""
    moved = (
        update(AuditHead)
        .where(
            AuditHead.id == 1,
            AuditHead.seq == bindparam("read_seq"),
            AuditHead.last_hash == bindparam("e_prev_hash"),
        )
        .values(seq=bindparam("e_seq"), last_hash=bindparam("e_hash"))
        .returning(AuditHead.seq)
        .cte("moved")
    )
    table = CaseEvent.__table__
    values = [bindparam(f"e_{name}", type_=table.c[name].type) for name in _EVENT_FIELDS]
    statement = (
        insert(CaseEvent)
        .from_select(list(_EVENT_FIELDS), select(*values).select_from(moved))
        .returning(CaseEvent.seq)
        .add_cte(moved)
    )
    if along_if_moved is not None:
        statement = statement.add_cte(along_if_moved(moved).cte("along"))
    return statement


@functools.cache
def _append_along(along: Executable) -> Executable:
    """The event, the head's new hash and `along` in one statement (built
    once per `along`: each is a constant of its caller)."""
    return _APPEND_AND_SET_HEAD.add_cte(along.cte("along"))  # type: ignore[attr-defined]


def _canonical(event: CaseEvent) -> bytes:
    created = as_utc(event.created_at)
    body = {
        "seq": event.seq,
        "case": event.case_id,
        "actor": event.actor_id,
        "kind": event.kind,
        "detail": event.detail,
        "at": created.isoformat(timespec="microseconds"),
        "prev": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def event_hash(event: CaseEvent) -> str:
    return crypto.keyed_digest(crypto.current_ring(), "audit-chain", _canonical(event).decode())


def _new_event(
    kind: str, seq: int, prev: str, case_id: int | None, actor_id: int | None, detail: Any
) -> tuple[CaseEvent, dict[str, Any]]:
    event = CaseEvent(
        seq=seq,
        case_id=case_id,
        actor_id=actor_id,
        kind=kind,
        detail=detail or {},
        created_at=utcnow(),
        prev_hash=prev,
    )
    event.hash = event_hash(event)
    return event, {f"e_{name}": getattr(event, name) for name in _EVENT_FIELDS}


def _record_alone(
    kind: str,
    case_id: int | None,
    actor_id: int | None,
    detail: Any,
    along_if_moved: Callable[[Any], Executable] | None,
) -> CaseEvent | None:
    """PostgreSQL with no transaction open: the event as its own
    transaction, in two round trips instead of four (BEGIN, the head's
    UPDATE, the event, COMMIT). The head is read, the event chained onto
    it, and one statement moves the head only if no other writer moved it
    since, writing the event (and `along_if_moved`) only then. None if
    another writer came first (nothing was written): the caller takes the
    head's lock and writes the event as usual."""
    if not pg_statements.alone_possible():
        return None
    connection = db.session.connection()
    head = connection.execute(_READ_HEAD).one_or_none()
    if head is None:
        return None  # the first event of all: it makes the head
    event, fields = _new_event(kind, head.seq + 1, head.last_hash, case_id, actor_id, detail)
    with pg_statements.alone():
        written = connection.execute(
            _append_if_moved(along_if_moved), {**fields, "read_seq": head.seq}
        ).first()
    return event if written is not None else None


def record(
    kind: str,
    *,
    case_id: int | None = None,
    actor_id: int | None = None,
    detail: dict[str, Any] | None = None,
    along: Executable | None = None,
    along_if_moved: Callable[[Any], Executable] | None = None,
) -> CaseEvent:
    """Append one event to the chain (flushes; the caller commits).

    `along` is one more write that goes with the event, its values bound
    to the event's own parameters (`e_case_id`...): on PostgreSQL it is a
    part of the event's statement, on SQLite its own statement just before.
    `along_if_moved`, given the head's move (a CTE of one row, or of none),
    makes the same write from it: with it, an event written where no
    transaction is open on PostgreSQL is its own transaction (see
    `_record_alone`), and the caller's commit finds nothing left to do.
    Give it only where the event (and `along`) is all the caller writes
    before it commits: anything written after would not commit with it.
    """
    db.session.flush()  # as the ORM's execute would, before the connection's
    if along_if_moved is not None and db.session.get_bind().dialect.name == "postgresql":
        written = _record_alone(kind, case_id, actor_id, detail, along_if_moved)
        if written is not None:
            return written
    # Lock and read in one statement: the UPDATE is what serialises writers
    # (a row lock on PostgreSQL, the write lock on SQLite).
    head = db.session.connection().execute(_ADVANCE_HEAD).one_or_none()
    if head is None:
        db.session.add(AuditHead(id=1, seq=1, last_hash=GENESIS))
        db.session.flush()
        seq, prev = 1, GENESIS
    else:
        seq, prev = head.seq, head.last_hash
    # Written as a statement, not through the session: nothing in a request
    # changes an event once written (the returned object is not in the
    # session; the row is read back like any other).
    event, fields = _new_event(kind, seq, prev, case_id, actor_id, detail)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_APPEND_AND_SET_HEAD if along is None else _append_along(along), fields)
    else:
        if along is not None:
            connection.execute(along, fields)
        connection.execute(_APPEND, fields)
        connection.execute(_SET_LAST_HASH, {"e_hash": event.hash})
    return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str = ""


def _events(batch: int = 5000) -> Iterator[CaseEvent]:
    last = 0
    while True:
        rows = db.session.scalars(
            select(CaseEvent).where(CaseEvent.seq > last).order_by(CaseEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.session.expunge_all()


def verify_chain() -> ChainReport:
    prev = GENESIS
    expected_seq = 1
    count = 0
    for event in _events():
        count += 1
        if event.seq != expected_seq:
            return ChainReport(count, False, expected_seq, "an event is missing")
        if event.prev_hash != prev:
            return ChainReport(count, False, event.seq, "the chain link does not match")
        if event_hash(event) != event.hash:
            return ChainReport(count, False, event.seq, "the event was altered")
        prev = event.hash
        expected_seq += 1
    head = db.session.get(AuditHead, 1)
    # The head remembers how many events were written and the last hash:
    # removing the newest events (or all of them) shows here.
    if head is not None and (head.seq != count or (count and head.last_hash != prev)):
        return ChainReport(count, False, expected_seq, "events after the last one were removed")
    return ChainReport(count, True)

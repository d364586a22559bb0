"""Case operations: opening a case with a receipt, finding it again, viewing it.

Each service flushes and writes its audit event; the caller commits.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Integer, Select, String, bindparam, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from grievance import crypto
from grievance.cases import audit, triage
from grievance.cases.deadlines import due_at
from grievance.cases.models import Case, CaseViewCount, Category, Channel, ContactMethod, Urgency
from grievance.datakeys import DataKey, as_utc, utcnow
from grievance.extensions import column_rows, db

REFERENCE_LENGTH = 8  # ~39.6 bits
SECRET_LENGTH = 12  # ~59.4 bits; with the reference, ~99 random bits


class CaseError(Exception):
    """Base of the case service errors."""


@dataclass(frozen=True)
class IssuedReceipt:
    """A receipt given before its case was opened (a held web report): the
    case takes its reference, secret hash, data key and time."""

    reference: str
    secret_hash: bytes
    data_key: DataKey
    received_at: datetime


@dataclass
class NewCase:
    language: str
    narrative: str
    channel: str = Channel.WEB
    # None: the most urgent default of the categories (P3 without any).
    urgency: str | None = None
    categories: list[str] = field(default_factory=list)
    prefecture: str | None = None
    industry: str | None = None
    residence_status: str | None = None
    since: str | None = None
    in_danger: bool = False
    contact_method: str = ContactMethod.WEB
    contact: dict[str, Any] | None = None
    intermediaries: dict[str, str] | None = None
    issued: IssuedReceipt | None = None


@dataclass(frozen=True)
class Receipt:
    """What the worker keeps; shown once, never stored in the clear."""

    reference: str
    secret: str


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """What the worker typed, without spaces, dashes or case differences."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@functools.lru_cache(maxsize=8)
def _reference_taken(elsewhere: tuple[Any, ...]) -> Select:
    """Which of the cases and the `elsewhere` columns hold the bound
    `reference`; built once (see `column_rows`)."""
    reference = bindparam("reference", type_=String)
    query = select(Case.reference).where(Case.reference == reference)
    for column in elsewhere:
        query = query.union_all(select(column).where(column == reference))
    return query


def new_reference(*elsewhere: Any) -> str:
    """A random reference no case has, nor any row of the `elsewhere`
    reference columns (one query a try)."""
    statement = _reference_taken(elsewhere)
    while True:
        reference = crypto.random_code(REFERENCE_LENGTH)
        if not column_rows(statement, {"reference": reference}):
            return reference


def open_case(data: NewCase) -> tuple[Case, Receipt]:
    """Store a new case, sealed under its own data key, and issue a receipt."""
    ring = crypto.current_ring()
    issued = data.issued
    # A held report's secret was shown and forgotten: only its hash is here.
    secret = "" if issued else crypto.random_code(SECRET_LENGTH)
    now = as_utc(issued.received_at) if issued else utcnow()
    categories = (
        db.session.scalars(select(Category).where(Category.code.in_(data.categories))).all()
        if data.categories
        else []
    )
    if data.in_danger:
        urgency: str = Urgency.P0
    elif data.urgency is not None:
        urgency = data.urgency
    else:
        # The most urgent default among the chosen categories.
        urgency = min((c.default_urgency for c in categories), default=Urgency.P3)
    case = Case(
        data_key=issued.data_key if issued else DataKey.create(),
        reference=issued.reference if issued else new_reference(),
        secret_hash=issued.secret_hash if issued else crypto.hash_secret(ring, secret),
        language=data.language,
        channel=data.channel,
        urgency=urgency,
        prefecture=data.prefecture,
        industry=data.industry,
        residence_status=data.residence_status,
        since=data.since,
        in_danger=data.in_danger,
        contact_method=data.contact_method,
        created_at=now,
        due_at=due_at(urgency, now),
    )
    case.narrative = data.narrative
    if data.contact is not None:
        case.contact = json.dumps(data.contact)
    if data.intermediaries:
        case.intermediaries = json.dumps(data.intermediaries)
        employer = data.intermediaries.get("employer", "")
        if employer.strip():
            case.employer_key = employer_key(employer)
    case.categories = list(categories)
    db.session.add(case)
    db.session.flush()
    audit.record(
        "case.opened",
        case_id=case.id,
        detail={"channel": case.channel, "urgency": case.urgency, "language": case.language},
    )
    # Red flags on every channel: the worker's words may call for more
    # urgency than the answers did. A P0 case pages the on-call caseworkers
    # (a raise to P0 pages inside apply_red_flags).
    was_p0 = case.urgency == Urgency.P0
    triage.apply_red_flags(case, data.narrative)
    if was_p0:
        triage.page_on_call(case)
    return case, Receipt(reference=format_code(case.reference), secret=format_code(secret))


def employer_key(name: str) -> str:
    """Keyed hash of a normalised name: equal names count together, unreadably."""
    folded = " ".join(name.casefold().split())
    return crypto.keyed_digest(crypto.current_ring(), "employer", folded)


def find_by_receipt(reference: str, secret: str) -> Case | None:
    """The case for a receipt, or None; the same work either way."""
    ring = crypto.current_ring()
    case = db.session.scalar(select(Case).where(Case.reference == normalise_code(reference)))
    if case is None:
        crypto.verify_secret(ring, normalise_code(secret), b"\0" * 32)
        return None
    if not crypto.verify_secret(ring, normalise_code(secret), case.secret_hash):
        return None
    return case


def _count_view(insert: Any, moved: Any = None) -> Insert:
    """One more view of the event's case: the first makes the row (both
    databases speak INSERT ... ON CONFLICT DO UPDATE). Given the audit
    head's move (`moved`, a CTE of one row or none), made only if the head
    moved: the count goes with its event, or not at all."""
    statement = insert(CaseViewCount)
    if moved is None:
        statement = statement.values(case_id=bindparam("e_case_id"), views=1)
    else:
        statement = statement.from_select(
            ["case_id", "views"],
            select(bindparam("e_case_id", type_=Integer), literal(1)).select_from(moved),
        )
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[CaseViewCount.case_id],
        set_={"views": CaseViewCount.views + 1},
    )


# Built once per dialect: every case view runs one. (The second form is a
# constant too: `audit.record` builds its statement once per such function.)
_COUNT_VIEW = {"postgresql": _count_view(postgresql.insert), "sqlite": _count_view(sqlite.insert)}
_COUNT_VIEW_IF_MOVED = functools.partial(_count_view, postgresql.insert)


def record_view(case: Case, actor_id: int) -> None:
    """Every staff view of a case leaves an audit event, and is counted for
    the page (`CaseViewCount`) in the same transaction: on PostgreSQL in
    the event's own statement, no round trip more. Where nothing else was
    written, that statement is its own transaction (`audit.record`), so
    call it last."""
    dialect = db.session.get_bind().dialect.name
    audit.record(
        "case.viewed",
        case_id=case.id,
        actor_id=actor_id,
        along=_COUNT_VIEW[dialect],
        along_if_moved=_COUNT_VIEW_IF_MOVED,
    )

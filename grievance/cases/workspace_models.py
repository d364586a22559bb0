"""Tables and indices of the caseworker workspace.

Kept beside `grievance.cases.models`: the queue's indices on `cases`, the
normalised keys of the intermediary chain, and the reminders already sent.

The queue indices are partial: they hold open cases only, ordered the way
the queue reads them (urgency, then due time, then id), with the filtered
column first and the rest of a queue row after the sort key. Closed cases
pile up over the years; open ones stay few, so the first page and every
filtered page are an index seek however large the table grows. A query
uses them only when its WHERE clause carries the very same predicate, so
`OPEN_SQL` is the single place it is written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from grievance.cases.models import Case, CaseStatus
from grievance.datakeys import utcnow
from grievance.extensions import db

OPEN_STATUSES: tuple[str, ...] = (
    CaseStatus.NEW,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.IN_PROGRESS,
    CaseStatus.REFERRED,
)
# Literal, not bound parameters: SQLite and PostgreSQL match a partial
# index's predicate against the query's text.
OPEN_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in OPEN_STATUSES) + ")"


# The columns a queue row shows, after the sort key.
QUEUE_ROW_COLUMNS = (
    "status",
    "reference",
    "language",
    "channel",
    "prefecture",
    "assignee_id",
    "unread_count",
    "review_state",
)


def _open_index(name: str, *columns: str) -> Index:
    cols = [Case.__table__.c[c] for c in columns]
    extra = [Case.__table__.c[c] for c in QUEUE_ROW_COLUMNS if c not in columns]
    return Index(
        name,
        *cols,
        Case.__table__.c.urgency,
        Case.__table__.c.due_at,
        Case.__table__.c.id,
        *extra,
        sqlite_where=text(OPEN_SQL),
        postgresql_where=text(OPEN_SQL),
    )


# Attached to the `cases` table by being created with its columns.
# Covering: a queue page is read from the index alone, never the table.
# That also makes the choice of index plain to both planners before any
# ANALYZE: the filtered column's index seeks furthest, and the unfiltered
# one beats the older all-cases index on (urgency, due_at, id).
QUEUE_INDICES = (
    _open_index("ix_cases_open_queue"),
    _open_index("ix_cases_open_language", "language"),
    _open_index("ix_cases_open_prefecture", "prefecture"),
    _open_index("ix_cases_open_channel", "channel"),
    _open_index("ix_cases_open_assignee", "assignee_id"),
)


# Resolved or closed cases the worker wrote to since a caseworker last
# looked: a short list above the queue (queue.written_after_closing), read
# from this small index however many cases are closed. Status leads, so
# SQLite's planner, which knows no row counts, prefers it to the all-cases
# status index: the few rows it holds are then sorted by time.
AFTER_CLOSING_SQL = (
    "status IN ("
    + ", ".join(f"'{s.value}'" for s in (CaseStatus.RESOLVED, CaseStatus.CLOSED))
    + ") AND unread_count > 0"
)
AFTER_CLOSING_INDEX = Index(
    "ix_cases_written_after_closing",
    Case.__table__.c.status,
    Case.__table__.c.last_worker_message_at,
    Case.__table__.c.id,
    Case.__table__.c.reference,
    Case.__table__.c.language,
    Case.__table__.c.channel,
    Case.__table__.c.unread_count,
    sqlite_where=text(AFTER_CLOSING_SQL),
    postgresql_where=text(AFTER_CLOSING_SQL),
)


class CaseParty(db.Model):
    """One link of a case's intermediary chain, by keyed hash of its name.

    The names themselves are sealed in `Case.intermediaries`; this row holds
    only the role and a keyed hash of the normalised name, so repeat
    employers and brokers can be counted across cases without decrypting.
    """

    __tablename__ = "case_parties"
    __table_args__ = (
        UniqueConstraint("case_id", "role"),
        Index("ix_case_parties_role_key", "role", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(24))
    name_key: Mapped[str] = mapped_column(String(64))


class CaseReminder(db.Model):
    """A reminder that went out, one per (case, kind, due time).

    The unique key makes `flask grievance tick` safe to run as often as
    anyone likes, from any number of processes: a second attempt to record
    the same reminder fails the insert instead of paging anyone twice.
    """

    __tablename__ = "case_reminders"
    __table_args__ = (UniqueConstraint("case_id", "kind", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)

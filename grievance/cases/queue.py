"""The caseworker queue: filters, keyset pagination, the workload view, and
the short list of resolved or closed cases the worker wrote to since.

Guarantees:

* Order: urgency (P0 first), then due time, then id. The same order on
  every page, whatever is inserted meanwhile.
* Keyset pagination: a page continues after the last row of the previous
  one, named by an opaque cursor (urgency, due time, id). No OFFSET, so the
  hundredth page costs what the first does.
* Every query is an index seek: one query per urgency level (at most
  four), each `WHERE urgency = ? AND <filter> = ? ORDER BY due_at, id`,
  which the partial indices in `workspace_models` answer in order. The
  "overdue" filter becomes a range on due_at inside each urgency instead
  of a scan.
* Rows carry codes, times and counts only; the queue never reads a sealed
  column, so no narrative is decrypted to draw it.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    select,
    text,
    tuple_,
    union_all,
)

from grievance import driver, reference_cache
from grievance.cases.models import Case, CaseStatus, Category, Channel, case_categories
from grievance.cases.redflags import URGENCY_ORDER
from grievance.cases.workspace_models import AFTER_CLOSING_SQL, OPEN_SQL
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db
from grievance.i18n import BY_CODE
from grievance.staff.models import Role, StaffUser

PAGE_SIZE = 50
ALL_STATUSES = tuple(s.value for s in CaseStatus)
CHANNELS = tuple(c.value for c in Channel)
PREFECTURE_CODES = tuple(f"{n:02d}" for n in range(1, 48))
# "open" (the default) and "all" are views, not statuses.
STATUS_VIEWS = ("open", "all")


class BadCursor(ValueError):  # noqa: N818 - reads as the situation it names
    """The cursor in the URL is not one this queue wrote."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort key of its last row."""

    urgency: str
    due_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.urgency}|{self.due_at.astimezone(UTC).isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            urgency, due, row_id = base64.urlsafe_b64decode(padded).decode().split("|")
            due_at = datetime.fromisoformat(due)
            if urgency not in URGENCY_ORDER or due_at.tzinfo is None:
                raise ValueError(urgency)
            return cls(urgency, due_at, int(row_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadCursor(token) from None


@dataclass(frozen=True)
class QueueFilters:
    """What the caseworker asked for; unknown values are dropped, not trusted."""

    status: str = "open"
    urgency: str | None = None
    language: str | None = None
    category: str | None = None
    prefecture: str | None = None
    channel: str | None = None
    assignee: str = "anyone"  # "me" | "unassigned" | "anyone" | a staff id
    overdue: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str], category_codes: set[str]) -> QueueFilters:
        def pick(name: str, allowed: set[str] | tuple[str, ...]) -> str | None:
            value = (args.get(name) or "").strip()
            return value if value in allowed else None

        assignee = (args.get("assignee") or "anyone").strip()
        if assignee not in ("me", "unassigned", "anyone") and not assignee.isdigit():
            assignee = "anyone"
        return cls(
            status=pick("status", STATUS_VIEWS + ALL_STATUSES) or "open",
            urgency=pick("urgency", URGENCY_ORDER),
            language=pick("language", tuple(BY_CODE)),
            category=pick("category", category_codes),
            prefecture=pick("prefecture", PREFECTURE_CODES),
            channel=pick("channel", CHANNELS),
            assignee=assignee,
            overdue=args.get("overdue") in ("1", "on", "true"),
        )

    def as_args(self) -> dict[str, str]:
        """The filters as query arguments, for links to the next page."""
        args: dict[str, str] = {}
        if self.status != "open":
            args["status"] = self.status
        for name in ("urgency", "language", "category", "prefecture", "channel"):
            value = getattr(self, name)
            if value:
                args[name] = value
        if self.assignee != "anyone":
            args["assignee"] = self.assignee
        if self.overdue:
            args["overdue"] = "1"
        return args

    @property
    def active(self) -> bool:
        return bool(self.as_args())


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue: no narrative, no name, nothing sealed."""

    id: int
    reference: str
    urgency: str
    due_at: datetime | None
    status: str
    language: str
    channel: str
    prefecture: str | None
    unread: int
    assignee_id: int | None
    review_state: str | None
    # A tuple, so that a row can key the drawn rows (`queue_display`).
    categories: tuple[str, ...] = ()
    assignee: str = ""

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and as_utc(self.due_at) < now


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None


_COLUMNS = (
    Case.id,
    Case.reference,
    Case.urgency,
    Case.due_at,
    Case.status,
    Case.language,
    Case.channel,
    Case.prefecture,
    Case.unread_count,
    Case.assignee_id,
    Case.review_state,
)


# Each row's category codes, read with it: one probe of the small
# (case_id, category_code) primary key per row shown, instead of a second
# query for the page's rows.
_CATEGORY_CODES = (
    select(func.aggregate_strings(case_categories.c.category_code, ","))
    .where(case_categories.c.case_id == Case.id)
    .scalar_subquery()
)


def _filtered(filters: QueueFilters) -> Select:
    """The filters' conditions; who "me" is and the time are bound at run
    time (parameters `me_id` and `now`), so the statement can be kept."""
    query = select(*_COLUMNS, _CATEGORY_CODES)
    if filters.status == "open":
        # The literal predicate of the partial indices (see workspace_models).
        query = query.where(text(OPEN_SQL))
    elif filters.status != "all":
        query = query.where(Case.status == filters.status)
    if filters.language:
        query = query.where(Case.language == filters.language)
    if filters.prefecture:
        query = query.where(Case.prefecture == filters.prefecture)
    if filters.channel:
        query = query.where(Case.channel == filters.channel)
    if filters.category:
        # Correlated EXISTS: one primary-key probe per case read in queue
        # order, instead of collecting every case ever filed under the
        # category first.
        query = query.where(
            exists().where(
                case_categories.c.case_id == Case.id,
                case_categories.c.category_code == filters.category,
            )
        )
    if filters.assignee == "me":
        query = query.where(Case.assignee_id == bindparam("me_id", type_=Integer))
    elif filters.assignee == "unassigned":
        query = query.where(Case.assignee_id.is_(None))
    elif filters.assignee.isdigit():
        query = query.where(Case.assignee_id == int(filters.assignee))
    if filters.overdue:
        query = query.where(Case.due_at < bindparam("now", type_=Case.due_at.type))
    return query


@functools.lru_cache(maxsize=512)
def _page_statement(filters: QueueFilters, urgency: str, count: int, seek: bool) -> Select:
    """One urgency's part of a page; `seek` starts after the row bound as
    `after_due` and `after_id`.

    Kept once built (see `column_rows`); one per set of filters in use.
    """
    query = _filtered(filters).where(Case.urgency == urgency)
    if seek:
        # A row value: both databases seek straight to it in the index.
        query = query.where(
            tuple_(Case.due_at, Case.id)
            > tuple_(
                bindparam("after_due", type_=Case.due_at.type),
                bindparam("after_id", type_=Integer),
            )
        )
    return query.order_by(Case.due_at, Case.id).limit(_inline_limit(count))


@dataclass(frozen=True)
class AfterClosing:
    """A resolved or closed case with messages from the worker nobody read."""

    reference: str
    status: str
    language: str
    channel: str
    unread: int
    written_at: datetime | None


AFTER_CLOSING_LIMIT = 20
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _inline_limit(count: int) -> Any:
    """A LIMIT written into the SQL, not bound: PostgreSQL then keeps one plan
    per prepared statement instead of planning it anew on every page."""
    return literal_column(str(int(count)))


def _after_closing_part(status: str, limit: int) -> Select:
    """One status's part of the list, newest message first.

    The status is named as well as the partial index's predicate: both
    planners then read that index in order. With the predicate alone,
    PostgreSQL estimated the rows from unrelated statistics (tens of
    thousands at a million cases, where there are none) and chose a
    parallel bitmap scan that took 9 ms.
    """
    return (
        select(
            Case.reference,
            Case.status,
            Case.language,
            Case.channel,
            Case.unread_count,
            Case.last_worker_message_at,
            Case.id,
        )
        .where(text(AFTER_CLOSING_SQL), Case.status == status)
        .order_by(Case.last_worker_message_at.desc(), Case.id.desc())
        .limit(_inline_limit(limit))
    )


@functools.cache
def after_closing_statement(limit: int = AFTER_CLOSING_LIMIT) -> CompoundSelect:
    """Both statuses in one round trip; each part keeps its own ordered read.

    Built once per limit (a statement is immutable): building it took a
    third of the list's time."""
    parts = [
        _after_closing_part(s, limit).subquery() for s in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    ]
    return union_all(*(select(part) for part in parts))


def written_after_closing(limit: int = AFTER_CLOSING_LIMIT) -> list[AfterClosing]:
    """Resolved or closed cases the worker wrote to, newest message first.

    The queue shows open cases only; without this list such a message (the
    boss retaliated after the settlement, say) would wait unseen. Opening
    the case marks it read; the caseworker reopens it if it calls for more.
    """
    rows = driver.session_rows(after_closing_statement(limit))
    rows.sort(key=lambda row: (as_utc(row[5]) if row[5] else _LONG_AGO, row[6]), reverse=True)
    return [AfterClosing(*row[:6]) for row in rows[:limit]]


def queue_page(
    filters: QueueFilters,
    *,
    me_id: int | None = None,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> QueuePage:
    """One page of the queue, most urgent first, then by due time."""
    now = now or utcnow()
    params: dict[str, Any] = {"me_id": me_id if me_id is not None else -1, "now": now}
    if after is not None:
        params.update(after_due=after.due_at, after_id=after.id)
    urgencies = [filters.urgency] if filters.urgency else list(URGENCY_ORDER)
    if after is not None:
        urgencies = [
            u for u in urgencies if URGENCY_ORDER.index(u) >= URGENCY_ORDER.index(after.urgency)
        ]
    wanted = limit + 1  # one more than shown tells whether a next page exists
    found: list[tuple] = []
    for urgency in urgencies:
        seek = after is not None and urgency == after.urgency
        statement = _page_statement(filters, urgency, wanted - len(found), seek)
        found.extend(driver.session_rows(statement, params))
        if len(found) >= wanted:
            break
    more = len(found) > limit
    found = found[:limit]
    rows = _rows(found)
    next_cursor = None
    if more and rows:
        last = rows[-1]
        if last.due_at is not None:
            next_cursor = Cursor(last.urgency, as_utc(last.due_at), last.id).encode()
    return QueuePage(rows=rows, next_cursor=next_cursor)


# Where the assignee's id sits in a row of `_COLUMNS` (the categories follow).
_ASSIGNEE_AT = next(i for i, column in enumerate(_COLUMNS) if column is Case.assignee_id)


def _rows(found: list[tuple]) -> list[QueueRow]:
    """The page's rows, with their assignees' names and sorted categories.

    The names are looked up first, so each row is made once: copying
    frozen rows to add the name cost half as much as making them."""
    names = staff_labels({row[_ASSIGNEE_AT] for row in found if row[_ASSIGNEE_AT] is not None})
    return [
        QueueRow(
            *row[:-1],
            categories=tuple(sorted(row[-1].split(","))) if row[-1] else (),
            assignee=names.get(row[_ASSIGNEE_AT], "") if row[_ASSIGNEE_AT] else "",
        )
        for row in found
    ]


def staff_labels(ids: set[int]) -> dict[int, str]:
    """Names to show for staff ids: from the cached list of who can take a
    case, with one small query only for anyone else (an advisor, an account
    disabled since)."""
    if not ids:
        return {}
    names = {i: label for i, label in assignable_labels() if i in ids}
    missing = ids - names.keys()
    if missing:
        users = db.session.execute(
            select(StaffUser.id, StaffUser.display_name, StaffUser.email).where(
                StaffUser.id.in_(missing)
            )
        ).all()
        names.update((uid, name or email.split("@")[0]) for uid, name, email in users)
    return names


def find_reference(reference: str) -> str | None:
    """The stored reference for what was typed, if such a case exists."""
    return db.session.scalar(select(Case.reference).where(Case.reference == reference))


def category_codes() -> tuple[tuple[str, str], ...]:
    """Enabled categories as (code, name), in the taxonomy's order."""

    def load() -> tuple[tuple[str, str], ...]:
        return tuple(
            (code, name)
            for code, name in db.session.execute(
                select(Category.code, Category.name)
                .where(Category.enabled.is_(True))
                .order_by(Category.position)
            )
        )

    return reference_cache.cached("categories", load)


def assignable_labels() -> tuple[tuple[int, str], ...]:
    """Who can take a case, as (staff id, label): active caseworkers and
    admins. For menus only; assigning checks the account again."""

    def load() -> tuple[tuple[int, str], ...]:
        return tuple(
            (user_id, name or email.split("@")[0])
            for user_id, name, email in db.session.execute(
                select(StaffUser.id, StaffUser.display_name, StaffUser.email)
                .where(StaffUser.role.in_((Role.CASEWORKER, Role.ADMIN)))
                .where(StaffUser.disabled.is_(False))
                .order_by(StaffUser.display_name, StaffUser.email)
            )
        )

    return reference_cache.cached("assignable", load)


@dataclass(frozen=True)
class WorkloadLine:
    staff_id: int | None
    label: str
    by_urgency: dict[str, int]
    overdue: int

    @property
    def total(self) -> int:
        return sum(self.by_urgency.values())


def workload(now: datetime | None = None) -> list[WorkloadLine]:
    """Open cases per assignee (and unassigned), by urgency, with overdue counts.

    Reads only columns of the open-assignee index (assignee, urgency, due
    time), so the count is one pass over that index, never over the table.
    """
    now = now or utcnow()
    overdue = func.sum(case((Case.due_at < now, 1), else_=0))
    rows = db.session.execute(
        select(Case.assignee_id, Case.urgency, func.count(), overdue)
        .where(text(OPEN_SQL))
        .group_by(Case.assignee_id, Case.urgency)
    ).all()
    lines: dict[int | None, dict] = {}
    for staff_id, urgency, count, late in rows:
        line = lines.setdefault(staff_id, {"by": {}, "overdue": 0})
        line["by"][urgency] = count
        line["overdue"] += int(late or 0)
    people = dict(assignable_labels())
    # Cases may still sit with someone disabled since: name them too.
    people.update(staff_labels({i for i in lines if i is not None}))
    for staff_id in people:
        lines.setdefault(staff_id, {"by": {}, "overdue": 0})
    result = [
        WorkloadLine(
            staff_id=staff_id,
            label=people.get(staff_id, "") if staff_id is not None else "",
            by_urgency=data["by"],
            overdue=data["overdue"],
        )
        for staff_id, data in lines.items()
    ]
    # Unassigned first (that is where work waits), then the busiest.
    result.sort(key=lambda line: (line.staff_id is not None, -line.total, line.label))
    return result

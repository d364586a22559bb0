"""The live cases, counted by month ahead of time: what every report reads.

Scanning every case for each dashboard view costs seconds once there are
100,000 cases, yet the counts change only when cases change, and statistics
a few minutes old are as good as fresh. So the periodic task folds the live
cases into `report_rollups` (one row per Japan month, dimension and value:
a few thousand rows whatever the number of cases), and a report sums the
rows of its months. Purged cases are added from `AggregateCount` as before.

Durations (time to acknowledge, to respond, to resolve) are kept as
histograms, so that medians and percentiles can be read without the cases:
the bucket is a tenth of an hour below 48 hours, an hour below 30 days and
a day beyond, and each bucket keeps the sum of its durations. A bucket
holding one case thus gives its exact value; a bucket holding more spreads
them evenly across its width, so a percentile is off by less than one
bucket's width (six minutes below two days). Every edge of the duration
bands of the statistics falls on a bucket edge, so those counts are exact.

The roll-up is computed by `refresh` (one transaction: readers see the old
rows or the new ones), run by the periodic task every
REPORTS_ROLLUP_SECONDS, at the end of a purge, and by a report that finds
none at all. A purge takes each case out of it (`subtract`) in the same
transaction that folds the case into the kept counts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError

from grievance.cases.aggregates import (
    BY_NAME,
    LEGAL_PARTNER_KINDS,
    LEGAL_PARTNER_TYPES,
    TAKEN_UP,
    dialect_name,
    hours_between,
    joint_statement,
    month_of,
)
from grievance.cases.models import Case, CaseClock, Partner, Referral
from grievance.cases.workspace_models import OPEN_SQL
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db
from grievance.reports.models import ReportRollup, ReportRollupRun

# Dimensions counted together in one scan each (see `joint_statement`): the
# product of their codes stays small, so five scans replace twenty.
JOINT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("total", "language", "channel", "urgency"),
    ("prefecture", "residence"),
    ("outcome", "closure", "solved", "felt_safe", "recommend", "dialogue"),
    ("ack_deadline", "gag_clause", "conflict_checked"),
)
DURATIONS = {
    "ack_time": lambda: hours_between(Case.acknowledged_at, Case.created_at),
    "first_response_time": lambda: hours_between(Case.first_response_at, Case.created_at),
    "resolve_time": lambda: hours_between(Case.resolved_at, Case.created_at),
}
HISTOGRAM = "hours:"
# The open cases of the moment: one "month" of their own, after every real one.
PRESENT = "now"
SNAPSHOT = "open_cases"
UPDATE_WINDOW = timedelta(days=14)
RUN_ID = 1

# Histogram buckets, in tenths of an hour: (below this many tenths, width).
RESOLUTION: tuple[tuple[int, int], ...] = ((480, 1), (7200, 10))
WIDEST = 240  # a day, beyond 30 days


def bucket_width(start: int) -> int:
    """The width, in tenths of an hour, of the bucket starting at `start`."""
    for below, width in RESOLUTION:
        if start < below:
            return width
    return WIDEST


def bucket_of(hours: ColumnElement[float]) -> ColumnElement[int]:
    """The start of the histogram bucket of a duration, in tenths of an hour."""
    tenths_float = hours * 10
    if dialect_name() == "postgresql":
        tenths_float = func.floor(tenths_float)
    # SQLite truncates where PostgreSQL floors: the same for every duration
    # from zero up (a negative one, from clock skew, lands below an hour).
    tenths = cast(tenths_float, Integer)
    whens = [(tenths < below, tenths - tenths % width) for below, width in RESOLUTION]
    return sql_case(*whens, else_=tenths - tenths % WIDEST)


# -- computing -------------------------------------------------------------------


Row = tuple[str, str, str, int, float | None]


def _live_rows(now: datetime, ids: Sequence[int] | None = None) -> Iterator[Row]:
    """(month, dimension, value, count, hours) over every live case, or over
    the cases `ids` only, in SQL."""
    where: list[ColumnElement[bool]] = [] if ids is None else [Case.id.in_(ids)]
    totals: dict[str, int] = defaultdict(int)
    for group in JOINT_GROUPS:
        stmt = joint_statement([BY_NAME[name] for name in group], where, now, by_month=True)
        cells: dict[tuple[str, str, str], int] = defaultdict(int)
        for row in db.session.execute(stmt):
            month, values, n = row[0], row[1:-1], int(row[-1])
            for name, value in zip(group, values, strict=True):
                if value is not None:
                    cells[(month, name, str(value))] += n
            if group[0] == "total":
                totals[month] += n
        for (month, name, value), n in cells.items():
            yield month, name, value, n, None
    category = joint_statement([BY_NAME["category"]], where, now, by_month=True)
    for month, value, n in db.session.execute(category):
        if value is not None:
            yield month, "category", str(value), int(n), None
    yield from _legal_advice(totals, where)
    yield from open_case_counts(now, where)
    for name, make in DURATIONS.items():
        hours = make()
        bucket = bucket_of(hours)
        month = month_of(Case.created_at)
        stmt = (
            select(month, bucket, func.count(), func.sum(hours))
            .where(hours.is_not(None), *where)
            .group_by(month, bucket)
        )
        for period, start, n, total in db.session.execute(stmt):
            yield period, HISTOGRAM + name, str(int(start)), int(n), float(total)


def _legal_advice(
    totals: dict[str, int], where: list[ColumnElement[bool]]
) -> Iterator[tuple[str, str, str, int, None]]:
    """ "yes" from the few referrals taken up by lawyers, "no" as the rest:
    the counts of the `legal_advice` dimension without a lookup per case."""
    month = month_of(Case.created_at).label("period")
    taken = (
        select(Case.id.label("case_id"), month)
        .join(Referral, Referral.case_id == Case.id)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(
            *where,
            Referral.status.in_(TAKEN_UP),
            or_(Partner.kind.in_(LEGAL_PARTNER_KINDS), Partner.type_code.in_(LEGAL_PARTNER_TYPES)),
        )
        .distinct()
        .subquery()
    )
    yes = {
        label: int(n)
        for label, n in db.session.execute(
            select(taken.c.period, func.count()).group_by(taken.c.period)
        )
    }
    for period, total in totals.items():
        if yes.get(period):
            yield period, "legal_advice", "yes", yes[period], None
        if total - yes.get(period, 0):
            yield period, "legal_advice", "no", total - yes.get(period, 0), None


def open_case_counts(
    now: datetime, where: list[ColumnElement[bool]]
) -> Iterator[tuple[str, str, str, int, None]]:
    """Open cases: how many, how many heard from us in 14 days, how many overdue.

    Overdue means a next action is late: the acknowledgement deadline passed
    without an acknowledgement, or an open deadline on the case (a statutory
    or follow-up clock) passed.
    """
    late_clock = exists().where(
        CaseClock.case_id == Case.id, CaseClock.done_at.is_(None), CaseClock.due_at < now
    )
    overdue = or_(and_(Case.acknowledged_at.is_(None), Case.due_at < now), late_clock)
    recent = Case.last_update_to_worker_at >= now - UPDATE_WINDOW
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(sql_case((recent, 1), else_=0)), 0),
            func.coalesce(func.sum(sql_case((overdue, 1), else_=0)), 0),
        ).where(text(OPEN_SQL), *where)
    ).one()
    for value, n in zip(("open", "updated_recently", "overdue"), row, strict=True):
        yield PRESENT, SNAPSHOT, value, int(n), None


def _locked_run() -> ReportRollupRun | None:
    """The run row, locked until the transaction ends (PostgreSQL; SQLite has
    one writer at a time anyway): a refresh and a purge never interleave, so
    a purged case is never counted both live and kept."""
    run = db.session.get(ReportRollupRun, RUN_ID, with_for_update=True, populate_existing=True)
    if run is not None:
        return run
    run = ReportRollupRun(id=RUN_ID)
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError:
        # Another process created it this very moment.
        db.session.rollback()
        return None
    return run


def refresh(now: datetime | None = None, *, unless_younger_than: float = 0) -> int:
    """Count every live case again and replace the roll-up; returns its rows
    (0 when another process refreshed it less than `unless_younger_than`
    seconds ago: every worker runs the periodic round).

    The lock comes first and the counting after it, in the same transaction,
    so the counts cannot include a case that a purge removed meanwhile.
    """
    now = now or utcnow()
    run = _locked_run()
    if run is None:
        return 0
    if (
        unless_younger_than > 0
        and run.computed_at is not None
        and (now - as_utc(run.computed_at)).total_seconds() < unless_younger_than
    ):
        db.session.rollback()
        return 0
    rows = [
        {"period": p, "dimension": d, "value": v, "count": n, "hours": h}
        for p, d, v, n, h in _live_rows(now)
    ]
    db.session.execute(delete(ReportRollup))
    if rows:
        db.session.execute(insert(ReportRollup), rows)
    run.computed_at = now
    db.session.commit()
    return len(rows)


def subtract(ids: Sequence[int]) -> None:
    """Within the caller's transaction, before the cases `ids` are purged: take
    them out of the roll-up, as the kept counts take them in, so no report
    ever counts them twice.

    Their values are counted as the last refresh would have (same `now`);
    a case changed since then may leave a cell off by one until the next
    refresh recomputes everything, a few minutes later.
    """
    if not ids:
        return
    run = db.session.get(ReportRollupRun, RUN_ID, with_for_update=True, populate_existing=True)
    if run is None or run.computed_at is None:
        return
    stamp = as_utc(run.computed_at)
    table = ReportRollup.__table__
    key = (table.c.period, table.c.dimension, table.c.value)
    for period, dimension, value, n, hours in _live_rows(stamp, ids):
        match = [c == v for c, v in zip(key, (period, dimension, value), strict=True)]
        values: dict[str, Any] = {"count": table.c.count - n}
        if hours is not None:
            values["hours"] = table.c.hours - hours
        db.session.execute(update(table).where(*match).values(**values))
    db.session.execute(delete(table).where(table.c.count <= 0))


def _period_seconds() -> float:
    return float(current_app.config["REPORTS_ROLLUP_SECONDS"])


def computed_at() -> datetime | None:
    run = db.session.get(ReportRollupRun, RUN_ID)
    return None if run is None or run.computed_at is None else as_utc(run.computed_at)


def ensure_fresh(now: datetime | None = None) -> datetime:
    """The roll-up's time, after computing it if there is none yet.

    An existing roll-up is served however old (the page says when it was
    computed): recounting a million cases inside a page view would take
    longer than any browser waits. With REPORTS_ROLLUP_SECONDS at 0 (the
    tests) every report recomputes it.
    """
    now = now or utcnow()
    stamp = computed_at()
    if stamp is None or _period_seconds() <= 0:
        refresh(now)
        return now
    return stamp


def periodic_task() -> int:
    """The periodic round: refresh when the roll-up is a period old."""
    stamp = computed_at()
    db.session.rollback()
    now = utcnow()
    if stamp is not None and (now - stamp).total_seconds() < _period_seconds():
        return 0
    return refresh(now, unless_younger_than=_period_seconds())


# -- reading ---------------------------------------------------------------------


def read_counts(
    first_month: str, last_month: str, dimensions: set[str], *, by_month: bool
) -> Iterator[tuple[str, str, str, int]]:
    """(month or "all", dimension, value, count) from the roll-up, for the months."""
    where = (
        ReportRollup.period >= first_month,
        ReportRollup.period <= last_month,
        ReportRollup.dimension.in_(dimensions),
    )
    if by_month:
        stmt = select(
            ReportRollup.period, ReportRollup.dimension, ReportRollup.value, ReportRollup.count
        ).where(*where)
    else:
        stmt = (
            select(ReportRollup.dimension, ReportRollup.value, func.sum(ReportRollup.count))
            .where(*where)
            .group_by(ReportRollup.dimension, ReportRollup.value)
        )
    for row in db.session.execute(stmt):
        if by_month:
            yield row[0], row[1], row[2], int(row[3])
        else:
            yield "all", row[0], row[1], int(row[2])


@dataclass(frozen=True)
class Bucket:
    start: int  # tenths of an hour
    count: int
    hours: float  # the sum of the durations in the bucket

    @property
    def width(self) -> int:
        return bucket_width(self.start)


def read_histograms(first_month: str, last_month: str) -> dict[str, list[Bucket]]:
    """Each duration's buckets over the months, in order."""
    stmt = (
        select(
            ReportRollup.dimension,
            ReportRollup.value,
            func.sum(ReportRollup.count),
            func.sum(ReportRollup.hours),
        )
        .where(
            ReportRollup.period >= first_month,
            ReportRollup.period <= last_month,
            ReportRollup.dimension.in_([HISTOGRAM + name for name in DURATIONS]),
        )
        .group_by(ReportRollup.dimension, ReportRollup.value)
    )
    found: dict[str, list[Bucket]] = {name: [] for name in DURATIONS}
    for dimension, value, n, hours in db.session.execute(stmt):
        found[dimension.removeprefix(HISTOGRAM)].append(
            Bucket(start=int(value), count=int(n), hours=float(hours or 0.0))
        )
    for buckets in found.values():
        buckets.sort(key=lambda b: b.start)
    return found


def value_at_rank(buckets: list[Bucket], rank: int) -> float | None:
    """The `rank`-th smallest duration (from 0), as the histogram tells it.

    One case in its bucket: its exact value. More: spread evenly across the
    bucket, so the answer is within one bucket width of the true value.
    """
    seen = 0
    for bucket in buckets:
        if rank < seen + bucket.count:
            if bucket.count == 1:
                return bucket.hours
            low = bucket.start / 10
            return low + (bucket.width / 10) * (rank - seen + 0.5) / bucket.count
        seen += bucket.count
    return None


def quantile(buckets: list[Bucket], q: float) -> float | None:
    """Linear interpolation between the closest ranks, as `percentile_cont`."""
    n = sum(b.count for b in buckets)
    if n == 0:
        return None
    position = q * (n - 1)
    low = value_at_rank(buckets, math.floor(position))
    high = value_at_rank(buckets, math.ceil(position))
    if low is None or high is None:
        return None
    return low + (high - low) * (position - math.floor(position))

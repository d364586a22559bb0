"""The numbers behind the reports, computed in SQL.

Counts add two sources: live cases grouped by the expressions of
`grievance.cases.aggregates`, and the `AggregateCount` rows that purged
cases left behind, so a report over a period says the same before and after
a purge. Durations (time to acknowledge, to respond, to resolve) are medians
and 90th percentiles computed by the database: `percentile_cont` on
PostgreSQL, and on SQLite the same interpolation over a window-numbered,
SQL-sorted column (two rows come back, never the cases).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
    union_all,
)

from grievance.cases.aggregates import (
    BY_NAME,
    DURATION_BUCKETS,
    INTERMEDIARY_ROLES,
    LAST_BUCKET,
    LEGAL_PARTNER_KINDS,
    LEGAL_PARTNER_TYPES,
    TAKEN_UP,
    count_statement,
    dialect_name,
    hours_between,
    joint_statement,
    month_of,
)
from grievance.cases.models import AggregateCount, Case, CaseClock, Partner, Referral
from grievance.cases.workspace_models import OPEN_SQL
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db
from grievance.reports.period import Period

# The dimensions a report shows, in the order of the page and the export.
REPORT_DIMENSIONS: tuple[str, ...] = (
    "category",
    "language",
    "channel",
    "prefecture",
    "residence",
    "urgency",
    "outcome",
    "closure",
    "ack_deadline",
    "ack_time",
    "first_response_time",
    "resolve_time",
    "solved",
    "felt_safe",
    "recommend",
    "dialogue",
    "gag_clause",
    "conflict_checked",
    "legal_advice",
)
log = logging.getLogger(__name__)
T = TypeVar("T")

UPDATE_WINDOW = timedelta(days=14)
REPEAT_THRESHOLD = 2
TOP_REPEATS = 10


@dataclass(frozen=True)
class Duration:
    """Hours from opening to an event: how many cases, the median and 90th
    percentile, and how many cases fell in each duration bucket."""

    count: int
    median: float | None
    p90: float | None
    buckets: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Repeats:
    """Employers or intermediaries (keyed hashes only) named in two or more cases."""

    names: int
    cases: int
    top: list[tuple[str, int]]


@dataclass(frozen=True)
class Snapshot:
    """Open cases now, whatever the period: a picture of the present."""

    open_cases: int
    updated_recently: int
    overdue: int


@dataclass
class ReportData:
    period: Period
    generated_at: datetime
    months: list[tuple[str, int]]
    total: int
    dimensions: dict[str, dict[str, int]]
    durations: dict[str, Duration]
    repeats: dict[str, Repeats]
    snapshot: Snapshot
    extra: dict[str, Any] = field(default_factory=dict)

    def counts(self, dimension: str) -> dict[str, int]:
        return self.dimensions.get(dimension, {})


# -- counts ------------------------------------------------------------------------

# Dimensions counted together in one scan each (see `joint_statement`): the
# product of their codes stays small, and six scans replace twenty.
JOINT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("total", "language", "channel", "urgency"),
    ("prefecture", "residence"),
    ("outcome", "closure", "solved", "felt_safe", "recommend", "dialogue"),
    ("ack_deadline", "gag_clause", "conflict_checked"),
    ("ack_time", "first_response_time", "resolve_time"),
)
ALL = "all"
# On SQLite, a period covering more than this share of the cases' time span
# is read by a plain scan: walking the created_at index would fetch nearly
# every row one by one, several times slower. (PostgreSQL plans this itself.)
SCAN_SHARE = 0.3


class CountTable:
    """counts[period][dimension][value]; the period is YYYY-MM, or "all"."""

    def __init__(self) -> None:
        self.cells: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )

    def add(self, period: str, dimension: str, value: object, n: int) -> None:
        if value is None or n == 0:
            return
        self.cells[period][dimension][str(value)] += n

    def periods(self) -> list[str]:
        return sorted(self.cells)

    def dimension(self, name: str, period: str | None = None) -> dict[str, int]:
        """Counts of one dimension in one period, or summed over all periods."""
        if period is not None:
            return dict(self.cells.get(period, {}).get(name, {}))
        total: dict[str, int] = defaultdict(int)
        for by_dimension in self.cells.values():
            for value, n in by_dimension.get(name, {}).items():
                total[value] += n
        return dict(total)


def case_filter(period: Period, now: datetime) -> list[ColumnElement[bool]]:
    """The period's cases, phrased so that SQLite reads them the fast way."""
    if dialect_name() != "sqlite":
        return period.case_filter()
    oldest = db.session.scalar(select(func.min(Case.created_at)))
    if oldest is None:
        return period.case_filter()
    oldest = as_utc(oldest)
    span = (now - oldest).total_seconds()
    overlap = (min(period.end, now) - max(period.start, oldest)).total_seconds()
    if span <= 0 or overlap / span < SCAN_SHARE:
        return period.case_filter()
    # SQLite's documented way to keep a term off an index: a unary plus.
    created = type_coerce(literal_column("+cases.created_at"), Case.created_at.type)
    return [created >= period.start, created < period.end]


def collect_counts(
    period: Period,
    now: datetime | None = None,
    *,
    by_month: bool = False,
    dimensions: tuple[str, ...] = REPORT_DIMENSIONS,
    skip_live: frozenset[str] = frozenset(),
) -> CountTable:
    """Every count of the period, live and purged, in a handful of scans.

    "total" is always kept per month (the chart of cases by month); the
    other dimensions per month only when `by_month`, else under "all".
    Dimensions in `skip_live` get only their purged counts (the caller
    counts the live cases another way).
    """
    now = now or utcnow()
    where = case_filter(period, now)
    table = CountTable()
    wanted = set(dimensions) | {"total"}
    live = wanted - skip_live
    for group in JOINT_GROUPS:
        names = [name for name in group if name in live]
        if not names:
            continue
        monthly = by_month or "total" in names
        stmt = joint_statement([BY_NAME[name] for name in names], where, now, by_month=monthly)
        for row in db.session.execute(stmt):
            month = row[0] if monthly else ALL
            values = row[1:-1] if monthly else row[:-1]
            n = int(row[-1])
            for name, value in zip(names, values, strict=True):
                key = month if (by_month or name == "total") else ALL
                table.add(key, name, value, n)
    if "category" in live:
        stmt = count_statement(BY_NAME["category"], where, now, by_month=by_month)
        for row in db.session.execute(stmt):
            month = row[0] if by_month else ALL
            table.add(month, "category", row[-2], int(row[-1]))
    if "legal_advice" in live:
        _legal_advice(table, where, by_month=by_month)
    kept = select(
        AggregateCount.period, AggregateCount.dimension, AggregateCount.value, AggregateCount.count
    ).where(*period.aggregate_filter(), AggregateCount.dimension.in_(wanted))
    for month, dimension, value, n in db.session.execute(kept):
        key = month if (by_month or dimension == "total") else ALL
        table.add(key, dimension, value, int(n or 0))
    return table


def _legal_advice(table: CountTable, where: list[ColumnElement[bool]], *, by_month: bool) -> None:
    """ "yes" from the few referrals, "no" as the rest: the same counts as the
    `legal_advice` dimension (which purge uses), without a lookup per case."""
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
    yes: dict[str, int] = defaultdict(int)
    for label, n in db.session.execute(
        select(taken.c.period, func.count()).group_by(taken.c.period)
    ):
        yes[label if by_month else ALL] += int(n)
    totals = (
        {m: table.dimension("total", m).get("all", 0) for m in table.periods()}
        if by_month
        else {ALL: sum(table.dimension("total").values())}
    )
    for key, total in totals.items():
        table.add(key, "legal_advice", "yes", yes.get(key, 0))
        table.add(key, "legal_advice", "no", total - yes.get(key, 0))


def monthly_totals(period: Period, table: CountTable) -> list[tuple[str, int]]:
    """Cases opened per Japan month, zero months included."""
    return [(m, table.dimension("total", m).get("all", 0)) for m in period.months()]


# -- durations ---------------------------------------------------------------------


def _interpolate(values: dict[int, float], position: float) -> float | None:
    low, high = math.floor(position), math.ceil(position)
    if low not in values or high not in values:
        return None
    return values[low] + (values[high] - values[low]) * (position - low)


def hour_histogram(
    expression: ColumnElement[float], where: list[ColumnElement[bool]]
) -> list[tuple[int, int]]:
    """(whole hours, cases) in hour order; hours truncate toward zero, so the
    groups are disjoint and ordered like the values themselves."""
    hour = cast(expression, Integer)
    rows = db.session.execute(
        select(hour, func.count())
        .where(*where, expression.is_not(None))
        .group_by(hour)
        .order_by(hour)
    )
    return [(int(h), int(n)) for h, n in rows]


def buckets_from_hours(histogram: list[tuple[int, int]]) -> dict[str, int]:
    """Whole-hour counts summed into the duration buckets of the statistics.

    Exact: every bucket edge is a whole number of hours, so `hours < edge`
    and `truncated hours < edge` agree for every case.
    """
    counts: dict[str, int] = defaultdict(int)
    for hour, n in histogram:
        for edge, code in DURATION_BUCKETS:
            if hour < edge:
                counts[code] += n
                break
        else:
            counts[LAST_BUCKET] += n
    return dict(counts)


def percentiles(
    expression: ColumnElement[float],
    where: list[ColumnElement[bool]],
    quantiles: tuple[float, ...] = (0.5, 0.9),
    histogram: list[tuple[int, int]] | None = None,
) -> tuple[int, list[float | None]]:
    """(count, [value at each quantile]) of `expression` over rows matching `where`.

    Linear interpolation between the closest ranks, as `percentile_cont`
    does, so both databases give the same answer. SQLite has no ordered-set
    aggregates, so there it never sorts every row: the whole-hour histogram
    tells which hours hold the wanted ranks, and only the rows of those few
    hours are sorted.
    """
    where = [*where, expression.is_not(None)]
    if dialect_name() == "postgresql":
        row = db.session.execute(
            select(
                func.count(),
                *(func.percentile_cont(q).within_group(expression) for q in quantiles),
            ).where(*where)
        ).one()
        return int(row[0]), [None if v is None else float(v) for v in row[1:]]
    hour = cast(expression, Integer)
    if histogram is None:
        histogram = hour_histogram(expression, where)
    n = sum(count for _, count in histogram)
    if n == 0:
        return 0, [None for _ in quantiles]
    positions = [q * (n - 1) for q in quantiles]
    ranks = sorted({r for p in positions for r in (math.floor(p), math.ceil(p))})
    # rank -> (bucket, rank within the bucket)
    wanted: dict[int, tuple[int, int]] = {}
    seen = 0
    for bucket, count in histogram:
        for rank in ranks:
            if seen <= rank < seen + count:
                wanted[rank] = (bucket, rank - seen)
        seen += count
    buckets = sorted({b for b, _ in wanted.values()})
    numbered = (
        select(
            hour.label("bucket"),
            expression.label("v"),
            func.row_number().over(partition_by=hour, order_by=expression).label("rn"),
        )
        .where(*where, hour.in_(buckets))
        .subquery()
    )
    found = {
        (int(b), int(rn) - 1): float(v)
        for b, rn, v in db.session.execute(
            select(numbered.c.bucket, numbered.c.rn, numbered.c.v).where(
                tuple_(numbered.c.bucket, numbered.c.rn).in_(
                    [(b, i + 1) for b, i in wanted.values()]
                )
            )
        )
    }
    values = {rank: found[spot] for rank, spot in wanted.items() if spot in found}
    return n, [_interpolate(values, p) for p in positions]


DURATIONS = {
    "ack_time": lambda: hours_between(Case.acknowledged_at, Case.created_at),
    "first_response_time": lambda: hours_between(Case.first_response_at, Case.created_at),
    "resolve_time": lambda: hours_between(Case.resolved_at, Case.created_at),
}


def durations(period: Period, now: datetime | None = None) -> dict[str, Duration]:
    """Median and 90th percentile per duration, over the period's live cases.

    Purged cases keep only their duration bucket (see the `*_time`
    dimensions), which the distribution tables include.
    """
    where = case_filter(period, now or utcnow())
    result = {}
    for name, make in DURATIONS.items():
        expression = make()
        histogram = hour_histogram(expression, where)
        n, (median, p90) = percentiles(expression, where, histogram=histogram)
        result[name] = Duration(
            count=n, median=median, p90=p90, buckets=buckets_from_hours(histogram)
        )
    return result


# -- repeat employers and intermediaries ------------------------------------------------

REPEAT_DIMENSIONS: tuple[str, ...] = (
    "employer",
    *(f"party:{role}" for role in INTERMEDIARY_ROLES),
)


def repeats(period: Period, dimension: str, now: datetime | None = None) -> Repeats:
    """Names (by keyed hash only) in two or more cases of the period, live and purged."""
    now = now or utcnow()
    live = count_statement(BY_NAME[dimension], case_filter(period, now), now)
    kept = (
        select(AggregateCount.value.label("value"), func.sum(AggregateCount.count).label("n"))
        .where(*period.aggregate_filter(), AggregateCount.dimension == dimension)
        .group_by(AggregateCount.value)
    )
    both = union_all(live, kept).subquery()
    total = func.sum(both.c.n)
    repeated = (
        select(both.c.value.label("k"), total.label("n"))
        .where(both.c.value.is_not(None))
        .group_by(both.c.value)
        .having(total >= REPEAT_THRESHOLD)
        .subquery()
    )
    names, cases = db.session.execute(
        select(func.count(), func.coalesce(func.sum(repeated.c.n), 0))
    ).one()
    top = [
        (str(k), int(n))
        for k, n in db.session.execute(
            select(repeated.c.k, repeated.c.n)
            .order_by(repeated.c.n.desc(), repeated.c.k)
            .limit(TOP_REPEATS)
        )
    ]
    return Repeats(names=int(names or 0), cases=int(cases or 0), top=top)


# -- the present ---------------------------------------------------------------------


def snapshot(now: datetime | None = None) -> Snapshot:
    """Open cases: how many, how many heard from us in 14 days, how many overdue.

    Overdue means a next action is late: the acknowledgement deadline passed
    without an acknowledgement, or an open deadline on the case (a statutory
    or follow-up clock) passed.
    """
    now = now or utcnow()
    late_clock = exists().where(
        CaseClock.case_id == Case.id, CaseClock.done_at.is_(None), CaseClock.due_at < now
    )
    overdue = or_(and_(Case.acknowledged_at.is_(None), Case.due_at < now), late_clock)
    recent = Case.last_update_to_worker_at >= now - UPDATE_WINDOW
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((recent, 1), else_=0)), 0),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        ).where(text(OPEN_SQL))
    ).one()
    return Snapshot(open_cases=int(row[0]), updated_recently=int(row[1]), overdue=int(row[2]))


# -- everything a report page needs, computed once and reused --------------------------

_cache_lock = threading.Lock()
Key = tuple[str, int, int]
# A report older than its time to live is still served, up to this many
# times the TTL, while one background thread computes the fresh one.
STALE_FACTOR = 10


def _cache_seconds() -> float:
    default = 0 if current_app.testing else 60
    return float(current_app.config.get("REPORTS_CACHE_SECONDS", default))


def build_report(period: Period, now: datetime | None = None) -> ReportData:
    """Every number of the report page for `period`, straight from the database."""
    now = now or utcnow()
    times = durations(period, now)
    # The duration buckets of live cases come with the hour histograms
    # the percentiles need anyway: one scan fewer.
    table = collect_counts(period, now, skip_live=frozenset(times))
    for name, duration in times.items():
        for value, n in duration.buckets.items():
            table.add(ALL, name, value, n)
    months = monthly_totals(period, table)
    return ReportData(
        period=period,
        generated_at=now,
        months=months,
        total=sum(n for _, n in months),
        dimensions={name: table.dimension(name) for name in REPORT_DIMENSIONS},
        durations=times,
        repeats={name: repeats(period, name, now) for name in REPEAT_DIMENSIONS},
        snapshot=snapshot(now),
    )


class _Cache:
    """Per application: reports by period, and the periods being refreshed."""

    def __init__(self) -> None:
        self.reports: dict[Key, tuple[float, Any]] = {}
        self.refreshing: set[Key] = set()


def _cache_of(app: Flask) -> _Cache:
    with _cache_lock:
        return app.extensions.setdefault("grievance.reports_cache", _Cache())  # type: ignore[no-any-return]


def _store(app: Flask, key: Key, data: Any) -> None:
    cache = _cache_of(app)
    with _cache_lock:
        cache.reports[key] = (time.monotonic(), data)
        cache.refreshing.discard(key)


def _refresh_later(app: Flask, key: Key, compute: Callable[[], Any]) -> None:
    cache = _cache_of(app)
    with _cache_lock:
        if key in cache.refreshing:
            return
        cache.refreshing.add(key)

    def work() -> None:
        try:
            with app.app_context():
                _store(app, key, compute())
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - the next view retries
            with _cache_lock:
                cache.refreshing.discard(key)
            log.warning("report refresh failed: %s", type(exc).__name__)

    threading.Thread(target=work, name="report-refresh", daemon=True).start()


def cached(key: Key, compute: Callable[[], T]) -> T:
    """`compute()`, reused for REPORTS_CACHE_SECONDS (default 60).

    Statistics a minute old are as good as fresh. After that the last result
    is still served (for up to ten times as long) while one background
    thread computes the next, so only the very first view of a period in a
    process waits for the database; a busy dashboard costs one computation
    a minute.
    """
    ttl = _cache_seconds()
    if ttl <= 0:
        return compute()
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = _cache_of(app)
    with _cache_lock:
        hit = cache.reports.get(key)
    if hit is not None:
        age = time.monotonic() - hit[0]
        if age < ttl:
            return hit[1]  # type: ignore[no-any-return]
        if age < ttl * STALE_FACTOR:
            _refresh_later(app, key, compute)
            return hit[1]  # type: ignore[no-any-return]
    data = compute()
    _store(app, key, data)
    return data


def report_for(period: Period) -> ReportData:
    """The dashboard's numbers for `period` (see `cached`)."""
    return cached(("report", period.first, period.last), lambda: build_report(period))


def clear_cache() -> None:
    """Forget every computed report (after a purge, numbers are recomputed)."""
    cache = _cache_of(current_app._get_current_object())  # type: ignore[attr-defined]
    with _cache_lock:
        cache.reports.clear()

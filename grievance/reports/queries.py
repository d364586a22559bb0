"""The numbers behind the reports, computed in SQL.

Counts add two sources: live cases, counted by month ahead of time in the
roll-up (`grievance.reports.rollup`, by the expressions of
`grievance.cases.aggregates`), and the `AggregateCount` rows that purged
cases left behind, so a report over a period says the same before and after
a purge. Durations (time to acknowledge, to respond, to resolve) come from
the roll-up's histograms. Repeat names and the open cases of the moment are
asked of the cases themselves: one indexed query each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    func,
    literal_column,
    select,
    type_coerce,
    union_all,
)

from grievance.cases.aggregates import (
    BY_NAME,
    DURATION_BUCKETS,
    EMPLOYER_KEY_CHARS,
    INTERMEDIARY_ROLES,
    LAST_BUCKET,
    count_statement,
    dialect_name,
)
from grievance.cases.models import AggregateCount, Case
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db
from grievance.reports import rollup
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
    *,
    by_month: bool = False,
    dimensions: tuple[str, ...] = REPORT_DIMENSIONS,
) -> CountTable:
    """Every count of the period: live cases from the roll-up, purged ones
    from the kept counts. The caller makes sure the roll-up is usable
    (`rollup.ensure_fresh`).

    "total" is always kept per month (the chart of cases by month); the
    other dimensions per month only when `by_month`, else under "all".
    """
    table = CountTable()
    wanted = set(dimensions) | {"total"}
    counted = wanted - set(rollup.DURATIONS)
    first, last = period.first_month, period.last_month
    for month, dimension, value, n in rollup.read_counts(
        first, last, counted - {"total"}, by_month=by_month
    ):
        table.add(month, dimension, value, n)
    for month, dimension, value, n in rollup.read_counts(first, last, {"total"}, by_month=True):
        table.add(month, dimension, value, n)
    timed = wanted & set(rollup.DURATIONS)
    if timed:
        for month, dimension, value, n in rollup.read_counts(
            first, last, {rollup.HISTOGRAM + name for name in timed}, by_month=by_month
        ):
            table.add(month, dimension.removeprefix(rollup.HISTOGRAM), band(int(value)), n)
    kept = select(
        AggregateCount.period, AggregateCount.dimension, AggregateCount.value, AggregateCount.count
    ).where(*period.aggregate_filter(), AggregateCount.dimension.in_(wanted))
    for month, dimension, value, n in db.session.execute(kept):
        key = month if (by_month or dimension == "total") else ALL
        table.add(key, dimension, value, int(n or 0))
    return table


def band(start: int) -> str:
    """The duration band of the statistics ("lt_1d"...) of a histogram bucket.

    Exact: every band edge is a bucket edge (see `grievance.reports.rollup`).
    """
    hours = start / 10
    for edge, code in DURATION_BUCKETS:
        if hours < edge:
            return code
    return LAST_BUCKET


def monthly_totals(period: Period, table: CountTable) -> list[tuple[str, int]]:
    """Cases opened per Japan month, zero months included."""
    return [(m, table.dimension("total", m).get("all", 0)) for m in period.months()]


# -- durations ---------------------------------------------------------------------


def durations(period: Period) -> dict[str, Duration]:
    """Median and 90th percentile per duration, over the period's live cases,
    from the roll-up's histograms (see `grievance.reports.rollup` for the
    precision). Purged cases keep only their duration band, which the
    distribution tables include."""
    result = {}
    for name, buckets in rollup.read_histograms(period.first_month, period.last_month).items():
        bands: dict[str, int] = defaultdict(int)
        for bucket in buckets:
            bands[band(bucket.start)] += bucket.count
        result[name] = Duration(
            count=sum(b.count for b in buckets),
            median=rollup.quantile(buckets, 0.5),
            p90=rollup.quantile(buckets, 0.9),
            buckets=dict(bands),
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
    if dimension == "employer":
        live = _employer_counts(period, now)
    else:
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
    # One pass: the window totals cover every repeated name, the LIMIT only
    # the rows that come back.
    rows = db.session.execute(
        select(
            repeated.c.k,
            repeated.c.n,
            func.count().over().label("names"),
            func.sum(repeated.c.n).over().label("cases"),
        )
        .order_by(repeated.c.n.desc(), repeated.c.k)
        .limit(TOP_REPEATS)
    ).all()
    names = int(rows[0].names) if rows else 0
    cases = int(rows[0].cases) if rows else 0
    top = [(str(row.k), int(row.n)) for row in rows]
    return Repeats(names=names, cases=cases, top=top)


def _employer_counts(period: Period, now: datetime) -> Select[Any]:
    """(value, n) of the `employer` dimension over the period's cases, grouped
    by the whole key first so the database walks ix_cases_employer_created in
    order instead of sorting the cases (the value keeps the key's prefix)."""
    by_key = (
        select(Case.employer_key.label("k"), func.count().label("n"))
        .where(Case.employer_key.is_not(None), *case_filter(period, now))
        .group_by(Case.employer_key)
        .subquery()
    )
    value = func.substr(by_key.c.k, 1, EMPLOYER_KEY_CHARS)
    return select(value.label("value"), by_key.c.n.label("n"))


# -- the present ---------------------------------------------------------------------


def snapshot() -> Snapshot:
    """Open cases when the roll-up was computed (see `rollup.open_case_counts`)."""
    counts = dict(
        (value, n)
        for _, _, value, n in rollup.read_counts(
            rollup.PRESENT, rollup.PRESENT, {rollup.SNAPSHOT}, by_month=True
        )
    )
    return Snapshot(
        open_cases=counts.get("open", 0),
        updated_recently=counts.get("updated_recently", 0),
        overdue=counts.get("overdue", 0),
    )


# -- everything a report page needs, computed once and reused --------------------------

_cache_lock = threading.Lock()
Key = tuple[str, int, int]
# A report older than its time to live is still served, up to this many
# times the TTL, while one background thread computes the fresh one.
STALE_FACTOR = 10


def _cache_seconds() -> float:
    return float(current_app.config["REPORTS_CACHE_SECONDS"])


def build_report(period: Period, now: datetime | None = None) -> ReportData:
    """Every number of the report page for `period`: the roll-up's counts
    and histograms, and the few live queries (repeats, open cases now)."""
    now = now or utcnow()
    computed = rollup.ensure_fresh(now)
    table = collect_counts(period)
    months = monthly_totals(period, table)
    return ReportData(
        period=period,
        generated_at=computed,
        months=months,
        total=sum(n for _, n in months),
        dimensions={name: table.dimension(name) for name in REPORT_DIMENSIONS},
        durations=durations(period),
        repeats={name: repeats(period, name, now) for name in REPEAT_DIMENSIONS},
        snapshot=snapshot(),
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

"""Anonymised statistics for outside eyes: the CSV export and the public page.

Only counts by code leave the system: no narrative, no identity, no case
reference, no employer key. Every cell under 5 is published as "<5", with
complementary suppression where the values of a dimension add up to the
published total (see `grievance.reports.suppression`).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from grievance.cases.aggregates import BY_NAME
from grievance.reports import rollup, suppression
from grievance.reports.labels import ordered
from grievance.reports.period import Period, quarter_label
from grievance.reports.queries import REPORT_DIMENSIONS, CountTable, cached, collect_counts

GRANULARITIES = ("month", "quarter", "period")
CSV_HEADER = ("period", "dimension", "value", "count")
# What the public page shows, per quarter.
PUBLIC_DIMENSIONS: tuple[str, ...] = ("category", "language", "channel", "outcome", "ack_deadline")
PUBLIC_QUARTERS = 4


def regroup(table: CountTable, period: Period, granularity: str) -> dict[str, CountTable]:
    """Monthly counts summed into the requested periods, in order."""
    if granularity == "month":
        keys = {month: month for month in period.months()}
    elif granularity == "quarter":
        keys = {month: quarter_label(month) for month in period.months()}
    else:
        label = (
            period.first_month
            if period.first == period.last
            else f"{period.first_month}/{period.last_month}"
        )
        keys = {month: label for month in period.months()}
    grouped: dict[str, CountTable] = {}
    for label in dict.fromkeys(keys.values()):
        grouped[label] = CountTable()
    for month in period.months():
        target = grouped[keys[month]]
        for dimension, values in table.cells.get(month, {}).items():
            for value, n in values.items():
                target.add("all", dimension, value, n)
    return grouped


def published_cells(table: CountTable, dimension: str) -> list[tuple[str, str]]:
    """(value, published count) of one dimension of one period."""
    total = table.dimension("total").get("all", 0)
    counts = table.dimension(dimension)
    shown = suppression.suppress(counts, partition=BY_NAME[dimension].partition, total=total)
    return [(value, shown[value]) for value, _ in ordered(dimension, counts)]


def csv_rows(period: Period, granularity: str, now: datetime | None = None) -> list[list[str]]:
    """The export as rows: period, dimension, value (a code), count or "<5"."""
    rollup.ensure_fresh(now)
    table = collect_counts(period, by_month=True)
    rows: list[list[str]] = [list(CSV_HEADER)]
    for label, part in regroup(table, period, granularity).items():
        total = part.dimension("total").get("all", 0)
        rows.append([label, "total", "all", suppression.cell(total)])
        for dimension in REPORT_DIMENSIONS:
            for value, shown in published_cells(part, dimension):
                rows.append([label, dimension, value, shown])
    return rows


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


@dataclass(frozen=True)
class PublicTable:
    """One dimension across the quarters: rows of (code, [published cell per quarter])."""

    dimension: str
    rows: list[tuple[str, list[str]]]


@dataclass(frozen=True)
class PublicStats:
    quarters: list[str]
    totals: list[str]
    acknowledged_in_time: list[str | None]
    tables: list[PublicTable]


def last_quarters(now: datetime | None = None, count: int = PUBLIC_QUARTERS) -> Period:
    """The `count` quarters up to and including the current one."""
    current = Period.ending(now, months=1)
    year, month = divmod(current.first, 12)
    quarter_start = year * 12 + (month // 3) * 3
    return Period(quarter_start - 3 * (count - 1), quarter_start + 2)


def public_stats(now: datetime | None = None) -> PublicStats:
    """The quarterly figures of the public page, suppressed like the export."""
    period = last_quarters(now)
    return cached(("public", period.first, period.last), lambda: _public_stats(period, now))


def _public_stats(period: Period, now: datetime | None) -> PublicStats:
    rollup.ensure_fresh(now)
    table = collect_counts(period, by_month=True, dimensions=PUBLIC_DIMENSIONS)
    parts = regroup(table, period, "quarter")
    quarters = list(parts)
    totals = [suppression.cell(p.dimension("total").get("all", 0)) for p in parts.values()]
    in_time = []
    for part in parts.values():
        deadline = part.dimension("ack_deadline")
        measured = sum(deadline.get(k, 0) for k in ("in_time", "late", "missed"))
        in_time.append(suppression.share(deadline.get("in_time", 0), measured))
    tables = []
    for dimension in PUBLIC_DIMENSIONS:
        cells: dict[str, dict[str, str]] = defaultdict(dict)
        overall: dict[str, int] = defaultdict(int)
        for label, part in parts.items():
            for value, shown in published_cells(part, dimension):
                cells[value][label] = shown
            for value, n in part.dimension(dimension).items():
                overall[value] += n
        rows = [
            (value, [cells[value].get(q, suppression.HIDDEN) for q in quarters])
            for value, _ in ordered(dimension, dict(overall))
        ]
        tables.append(PublicTable(dimension=dimension, rows=rows))
    return PublicStats(
        quarters=quarters, totals=totals, acknowledged_in_time=in_time, tables=tables
    )

"""The period a report covers: whole Japan months, from one month to another.

Whole months because the counts that outlive purged cases are kept per
month: a day-level filter could not be applied to them, and the same case
would then count in one report and not in the next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement

from grievance.cases.deadlines import JST
from grievance.cases.models import AggregateCount, Case
from grievance.datakeys import utcnow

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
DEFAULT_MONTHS = 12
MAX_MONTHS = 120  # ten years: bounds the size of every table and chart


def _parse(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    match = MONTH.match(value.strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 2000 <= year <= 2100:
        return None
    return year, month


def _index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


def _from_index(index: int) -> tuple[int, int]:
    return index // 12, index % 12 + 1


def _label(index: int) -> str:
    year, month = _from_index(index)
    return f"{year:04d}-{month:02d}"


def _start(index: int) -> datetime:
    year, month = _from_index(index)
    return datetime(year, month, 1, tzinfo=JST).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """Months `first`..`last` inclusive, as month indexes (year * 12 + month - 1)."""

    first: int
    last: int

    @classmethod
    def ending(cls, now: datetime | None = None, months: int = DEFAULT_MONTHS) -> Period:
        """The `months` months up to and including the current Japan month."""
        local = (now or utcnow()).astimezone(JST)
        last = _index(local.year, local.month)
        return cls(last - months + 1, last)

    @classmethod
    def from_args(cls, args: Mapping[str, str], now: datetime | None = None) -> Period:
        """From `from`/`to` query values (YYYY-MM); anything invalid gives the default."""
        default = cls.ending(now)
        start = _parse(args.get("from"))
        end = _parse(args.get("to"))
        first = _index(*start) if start else default.first
        last = _index(*end) if end else default.last
        if first > last:
            first, last = last, first
        if last - first + 1 > MAX_MONTHS:
            first = last - MAX_MONTHS + 1
        return cls(first, last)

    @classmethod
    def quarter_of(cls, year: int, quarter: int) -> Period:
        first = _index(year, (quarter - 1) * 3 + 1)
        return cls(first, first + 2)

    @property
    def first_month(self) -> str:
        return _label(self.first)

    @property
    def last_month(self) -> str:
        return _label(self.last)

    @property
    def start(self) -> datetime:
        """The first instant of the period (UTC)."""
        return _start(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the period (UTC)."""
        return _start(self.last + 1)

    def months(self) -> list[str]:
        return [_label(i) for i in range(self.first, self.last + 1)]

    def case_filter(self) -> list[ColumnElement[bool]]:
        """Cases opened in the period (uses the index on created_at)."""
        return [Case.created_at >= self.start, Case.created_at < self.end]

    def aggregate_filter(self) -> list[ColumnElement[bool]]:
        """Counts kept for purged cases opened in the period."""
        return [
            AggregateCount.period >= self.first_month,
            AggregateCount.period <= self.last_month,
        ]

    def as_args(self) -> dict[str, str]:
        return {"from": self.first_month, "to": self.last_month}


def quarter_label(month: str) -> str:
    """ "2026-05" -> "2026-Q2"."""
    year, number = month.split("-")
    return f"{year}-Q{(int(number) - 1) // 3 + 1}"

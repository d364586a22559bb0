"""The roll-up the reports read: live cases counted by month, refreshed in the background."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grievance.extensions import db


class ReportRollup(db.Model):
    """Live cases opened in one Japan month, by dimension and value.

    Counts dimensions take the codes of `grievance.cases.aggregates`;
    durations take "hours:<name>" with the histogram bucket as value (see
    `grievance.reports.rollup`), and `hours` holds the sum of the bucket's
    durations.
    """

    __tablename__ = "report_rollups"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    hours: Mapped[float | None] = mapped_column(Float)


class ReportRollupRun(db.Model):
    """One row: when the roll-up was computed (NULL: it must be computed again)."""

    __tablename__ = "report_rollup_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

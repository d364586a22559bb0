"""Statements run on the driver's connection (grievance.driver) read the
same rows SQLAlchemy's execution reads: the same values, converted the same
way (SQLite's dates as datetimes), with the values fixed in the statement
(group_concat's separator, a literal compared with) written in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, select

from grievance import driver
from grievance.cases import queue
from grievance.cases.models import Case, CaseStatus
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from tests.conftest import make_case


def _as_sqlalchemy_reads(statement: Any, values: dict[str, Any]) -> list[tuple]:
    return [tuple(row) for row in db.session.connection().execute(statement, values)]


def test_the_queue_reads_the_same_rows_through_the_driver(app: Flask) -> None:
    with app.app_context():
        make_case(urgency="P1", categories=["WAGE_UNPAID", "DOC_RETAIN"])
        make_case(urgency="P1", categories=["HARASSMENT"])
        make_case(urgency="P2")
        closed, _ = make_case(urgency="P3")
        closed.status = CaseStatus.CLOSED
        closed.unread_count = 2
        closed.last_worker_message_at = utcnow()
        commit()
        now = utcnow()
        values = {"me_id": -1, "now": now}
        for urgency in ("P1", "P2"):
            page = queue._page_statement(queue.QueueFilters(), urgency, 51, False)
            rows = driver.session_rows(page, values)
            assert rows == _as_sqlalchemy_reads(page, values) and rows
        # The P1 rows: both cases, the categories joined by the fixed separator.
        p1 = driver.session_rows(
            queue._page_statement(queue.QueueFilters(), "P1", 51, False), values
        )
        assert sorted(p1[0][-1].split(",")) == ["DOC_RETAIN", "WAGE_UNPAID"]
        assert hasattr(p1[0][3], "year")  # the due time a datetime, not text
        # A page after a row: the row value bound as it runs.
        seek = queue._page_statement(queue.QueueFilters(), "P1", 51, True)
        after = {**values, "after_due": p1[0][3], "after_id": p1[0][0]}
        assert driver.session_rows(seek, after) == _as_sqlalchemy_reads(seek, after) == p1[1:]
        closing = queue.after_closing_statement(20)
        assert driver.session_rows(closing) == _as_sqlalchemy_reads(closing, {})
        assert [row[0] for row in driver.session_rows(closing)] == [closed.reference]
        assert queue.written_after_closing()[0].reference == closed.reference
        # Dates come back as SQLAlchemy gives them (SQLite stores text).
        dates = select(Case.created_at).where(Case.created_at > bindparam("since"))
        since = {"since": now - timedelta(days=1)}
        assert driver.session_rows(dates, since) == _as_sqlalchemy_reads(dates, since)
        assert all(hasattr(row[0], "year") for row in driver.session_rows(dates, since))


def test_a_list_bound_as_it_runs_is_refused(app: Flask) -> None:
    with app.app_context():
        listed = select(Case.id).where(Case.id.in_(bindparam("ids", expanding=True)))
        with pytest.raises(ValueError):
            driver.session_rows(listed, {"ids": [1, 2]})

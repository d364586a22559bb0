"""Held web reports on PostgreSQL: one statement a report, and runs of the
job side by side that take different reports."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from grievance.cases.models import Case
from grievance.datakeys import DataKey
from grievance.extensions import db
from grievance.intake import held
from grievance.intake.models import HeldReport
from grievance.notify import dispatch
from tests.integration.conftest import REDIS_URL, driver_statements
from tests.test_intake_web import receipt_codes, submit


def _count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_form_holds_a_report_in_one_statement(app: Flask) -> None:
    app.extensions["grievance.runner"] = dispatch.RQRunner(REDIS_URL, 3600)
    with driver_statements() as statements:
        response = submit(app.test_client(), narrative="CANARY-one statement")
    assert response.status_code == 200
    reference, _secret = receipt_codes(response.data)
    # The reference check, the key and the row: one round trip.
    [statement] = statements
    assert statement.startswith("WITH held AS")
    assert "INSERT INTO data_keys" in statement and "INSERT INTO held_reports" in statement
    with app.app_context():
        row = db.session.scalar(select(HeldReport))
        assert row is not None and row.data_key is not None
        assert reference.replace("-", "") == row.reference
        assert row.report is not None and "CANARY-one statement" in row.report
        assert _count(DataKey) == 1


def test_a_run_skips_a_report_another_run_is_opening(app: Flask) -> None:
    from tests.conftest import QueuedRunner

    app.extensions["grievance.runner"] = QueuedRunner()
    client = app.test_client()
    for n in range(3):
        submit(client, narrative=f"CANARY-side by side {n}")
    with app.app_context():
        first = db.session.scalar(select(HeldReport.id).order_by(HeldReport.id))
        db.session.rollback()
        with db.engine.connect() as other:
            # Another run holds the first report (it would wait forever
            # here if this run waited for it).
            other.execute(select(HeldReport.id).where(HeldReport.id == first).with_for_update())
            assert held.open_held_reports() == "opened 2"
            assert db.session.scalars(select(HeldReport.id)).all() == [first]
            other.rollback()
        assert held.open_held_reports() == "opened 1"
        assert _count(Case) == 3 and _count(HeldReport) == 0


def test_a_taken_reference_writes_nothing_and_another_is_drawn(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form's test of references already taken, on PostgreSQL's one
    statement (a case's by the subquery, a held report's by the unique
    index)."""
    from tests.conftest import QueuedRunner
    from tests.test_held_reports import (
        test_the_form_holds_a_report_under_a_reference_no_case_nor_held_report_has as check,
    )

    runner = QueuedRunner()
    app.extensions["grievance.runner"] = runner
    check(app, app.test_client(), runner, monkeypatch)


def test_the_hold_never_scans_the_held_reports(app: Flask) -> None:
    """Planned while no report waits (the statistics say the table is empty),
    the statement kept for every later report must not scan the held
    reports: during a burst they number thousands."""
    statement = held._hold_statements("postgresql")[0]
    sql = str(statement.compile(dialect=postgresql.dialect()))
    with app.app_context():
        connection = db.session.connection()
        connection.execute(text("ANALYZE held_reports"))
        # PostgreSQL's plan for every execution of a prepared statement.
        connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        names = sorted(set(re.findall(r"%\((\w+)\)s", sql)))
        numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql)
        types = {"dek_wrapped": "bytea", "secret_hash": "bytea", "report_ct": "bytea"}
        declared = ", ".join(types.get(n, "unknown") for n in names)
        connection.execute(text(f"PREPARE hold ({declared}) AS {numbered}"))
        values = ", ".join("NULL" for _ in names)
        plan = "\n".join(
            row[0] for row in connection.execute(text(f"EXPLAIN EXECUTE hold ({values})"))
        )
        db.session.rollback()
    assert "Conflict Arbiter Indexes: uq_held_reports_reference" in plan
    assert "Scan on held_reports" not in plan and "Scan using uq_cases_reference" in plan

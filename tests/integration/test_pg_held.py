"""Held web reports on PostgreSQL: one statement a report, and runs of the
job side by side that take different reports."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

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
    assert statement.startswith("WITH stored_key AS")
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

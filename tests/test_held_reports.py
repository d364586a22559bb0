"""Web reports held for a job: the receipt at once, the case opened by a job.

The jobs wait in a queue here, as on RQ in production, so each test sees
the moment between the answer and the case.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from grievance import crypto
from grievance.cases import services as case_services
from grievance.cases.models import Attachment, Case, Consent
from grievance.datakeys import DataKey, as_utc
from grievance.extensions import commit, db
from grievance.intake import held, web
from grievance.intake.models import HeldReport
from tests.conftest import QueuedRunner
from tests.test_intake_web import jpeg_with_gps, open_follow_up, receipt_codes, submit

CANARY = "CANARY-HELD Công ty giữ hộ chiếu của tôi."


@pytest.fixture
def runner(app: Flask) -> QueuedRunner:
    queued = QueuedRunner()
    app.extensions["grievance.runner"] = queued
    return queued


def _count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_answer_holds_the_report_sealed_and_the_job_opens_its_case(
    app: Flask, client: FlaskClient, runner: QueuedRunner
) -> None:
    response = submit(
        client,
        narrative=CANARY,
        categories=["DOC_RETAIN"],
        attachments=[(io.BytesIO(jpeg_with_gps()), "passport.jpg")],
    )
    assert response.status_code == 200
    reference, secret = receipt_codes(response.data)
    with app.app_context():
        assert _count(Case) == 0
        [row] = db.session.scalars(select(HeldReport)).all()
        assert runner.jobs == [("open_held_reports", ())]
        # Sealed: neither the words nor the photo are readable in the row.
        raw = db.session.execute(text("SELECT * FROM held_reports")).one()
        dump = repr(tuple(raw)).encode()
        assert b"CANARY" not in dump and b"CANARY-CAMERA-MAKER" not in dump
        received_at = as_utc(row.received_at)

        assert runner.run_all() == ["open_held_reports"]
        assert _count(HeldReport) == 0
        case = db.session.scalar(select(Case))
        assert case is not None
        assert case_services.format_code(case.reference) == reference
        assert case.narrative == CANARY
        assert [c.code for c in case.categories] == ["DOC_RETAIN"]
        # The deadline runs from when the worker sent it, not from the job.
        assert as_utc(case.created_at) == received_at
        assert case.data_key_id == row.data_key_id
        assert _count(Consent) == 1
        [attachment] = db.session.scalars(select(Attachment)).all()
        assert attachment.filename == "passport.jpg"
        assert b"CANARY-CAMERA-MAKER" not in attachment.data
    # The receipt shown before the case existed opens it.
    assert open_follow_up(client, reference, secret).status_code == 303


def test_signing_in_before_the_job_opens_the_case_then_and_the_job_does_nothing(
    app: Flask, client: FlaskClient, runner: QueuedRunner
) -> None:
    reference, secret = receipt_codes(submit(client, narrative=CANARY).data)
    assert open_follow_up(client, reference, "AAAA-BBBB-CCCC").status_code == 400
    with app.app_context():
        assert _count(Case) == 0 and _count(HeldReport) == 1
    page = open_follow_up(client, reference, secret)
    assert page.status_code == 303
    assert client.get(page.headers["Location"]).status_code == 200
    with app.app_context():
        assert _count(Case) == 1 and _count(HeldReport) == 0
        runner.run_all()
        assert _count(Case) == 1


def test_a_receipt_given_while_the_job_opens_its_case_opens_that_case(
    app: Flask, client: FlaskClient, runner: QueuedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job commits the case between the follow-up page's look-up of the
    case (not there yet) and its look-up of the held report (gone): the
    receipt is still right, and opens the case."""
    reference, secret = receipt_codes(submit(client, narrative=CANARY).data)
    real = case_services.find_by_receipt
    looked_up: list[str] = []

    def job_runs_meanwhile(ref: str, code: str) -> Case | None:
        found = real(ref, code)
        if not looked_up:
            assert found is None  # still held
            assert runner.run_all() == ["open_held_reports"]
        looked_up.append(ref)
        return found

    monkeypatch.setattr(case_services, "find_by_receipt", job_runs_meanwhile)
    page = open_follow_up(client, reference, secret)
    assert page.status_code == 303
    assert client.get(page.headers["Location"]).status_code == 200
    with app.app_context():
        assert _count(Case) == 1 and _count(HeldReport) == 0
    # A wrong code for that reference is still refused (another browser).
    assert open_follow_up(app.test_client(), reference, "AAAA-BBBB-CCCC").status_code == 400


def test_the_job_run_twice_opens_one_case(
    app: Flask, client: FlaskClient, runner: QueuedRunner
) -> None:
    submit(client, narrative=CANARY)
    with app.app_context():
        held_id = db.session.scalar(select(HeldReport.id))
        assert held_id is not None
        assert held.open_held_report(held_id) == "opened"
        assert held.open_held_report(held_id) == "gone"
        assert held.open_held_reports() == "opened 0"
        assert _count(Case) == 1


def test_a_burst_of_reports_queues_one_run_that_opens_them_all(
    app: Flask, client: FlaskClient, runner: QueuedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(held, "BATCH", 2)
    receipts = [receipt_codes(submit(client, narrative=f"{CANARY} {n}").data) for n in range(5)]
    assert runner.jobs == [("open_held_reports", ())]
    with app.app_context():
        # Read two at a time; one run, with time to spare.
        assert runner.run_all() == ["open_held_reports"]
        assert _count(HeldReport) == 0
        cases = db.session.scalars(select(Case).order_by(Case.id)).all()
        assert [c.narrative for c in cases] == [f"{CANARY} {n}" for n in range(5)]
        assert [case_services.format_code(c.reference) for c in cases] == [r for r, _s in receipts]
    # Once the run has started, a new report wakes another.
    submit(client, narrative=CANARY)
    assert runner.jobs == [("open_held_reports", ())]


def test_a_run_out_of_time_wakes_another_for_the_rest(
    app: Flask, client: FlaskClient, runner: QueuedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(held, "BATCH", 2)
    monkeypatch.setattr(held, "RUN_FOR", 0.0)
    for n in range(5):
        submit(client, narrative=f"{CANARY} {n}")
    with app.app_context():
        # Two, two and one: each run stops after one batch and wakes the next.
        assert held.open_held_reports() == "opened 2, more waiting"
        assert runner.run_all() == ["open_held_reports"] * 2
        assert _count(Case) == 5 and _count(HeldReport) == 0


def test_a_report_the_job_cannot_open_waits_and_the_others_are_opened(
    app: Flask, client: FlaskClient, runner: QueuedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        submit(client, narrative=f"{CANARY} {n}")
    opening = web.submit_report

    def fails_for_the_second(report: web.WebReport, **kwargs: object) -> object:
        if report.narrative.endswith(" 1"):
            raise RuntimeError("a fault while opening")
        return opening(report, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(web, "submit_report", fails_for_the_second)
    monkeypatch.setattr(held, "BATCH", 1)
    with app.app_context():
        # Read one at a time: the failing one does not stop the run.
        assert held.open_held_reports() == "opened 2"
        [row] = db.session.scalars(select(HeldReport)).all()
        assert row.report is not None and f"{CANARY} 1" in row.report
        monkeypatch.setattr(web, "submit_report", opening)
        # The periodic round opens it once it has waited over a minute.
        later = as_utc(row.received_at) + held.LEFT_OVER_AFTER + timedelta(seconds=1)
        assert held.open_left_over(now=later) == 1
        assert _count(Case) == 3 and _count(HeldReport) == 0


def test_a_report_whose_job_was_lost_is_opened_by_the_periodic_round(
    app: Flask, client: FlaskClient, runner: QueuedRunner
) -> None:
    from grievance.notify.jobs import run_periodic

    submit(client, narrative=CANARY)
    runner.jobs.clear()  # Redis lost it
    with app.app_context():
        assert run_periodic()["held_reports"] == 0  # not yet: the job may be slow
        row = db.session.scalar(select(HeldReport))
        assert row is not None
        row.received_at = row.received_at - held.LEFT_OVER_AFTER - timedelta(seconds=1)
        commit()
        assert run_periodic()["held_reports"] == 1
        assert _count(Case) == 1 and _count(HeldReport) == 0


def test_a_report_in_danger_is_opened_in_the_request(
    app: Flask, client: FlaskClient, runner: QueuedRunner
) -> None:
    response = submit(client, danger="yes", narrative=CANARY)
    assert response.status_code == 200
    with app.app_context():
        assert _count(HeldReport) == 0
        case = db.session.scalar(select(Case))
        assert case is not None and case.urgency == "P0"
    assert [job for job, _ids in runner.jobs if job.startswith("open_held")] == []


def _taken_references(app: Flask, client: FlaskClient) -> tuple[str, str]:
    """A case's reference and a held report's."""
    submit(client, narrative="The first report.")
    with app.app_context():
        held_ref = db.session.scalar(select(HeldReport.reference))
        case, _receipt = case_services.open_case(
            case_services.NewCase(language="vi", narrative="x")
        )
        commit()
        assert held_ref is not None
        return case.reference, held_ref


def test_a_new_reference_is_one_no_case_nor_held_report_has(
    app: Flask, client: FlaskClient, runner: QueuedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_ref, held_ref = _taken_references(app, client)
    with app.app_context():
        tries = iter([case_ref, held_ref, "FREEREF2"])
        monkeypatch.setattr("grievance.crypto.random_code", lambda _n: next(tries))
        assert case_services.new_reference(HeldReport.reference) == "FREEREF2"
        tries = iter([case_ref, held_ref])
        # Cases alone: a held report's reference is not looked at.
        assert case_services.new_reference() == held_ref


def test_the_form_holds_a_report_under_a_reference_no_case_nor_held_report_has(
    app: Flask, client: FlaskClient, runner: QueuedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_ref, held_ref = _taken_references(app, client)
    with app.app_context():
        keys = _count(DataKey)
    draw = crypto.random_code
    tries = iter([case_ref, held_ref, "FREEREF2"])
    monkeypatch.setattr(
        crypto,
        "random_code",
        lambda n: next(tries) if n == case_services.REFERENCE_LENGTH else draw(n),
    )
    reference, _secret = receipt_codes(submit(client, narrative=CANARY).data)
    assert reference == case_services.format_code("FREEREF2")
    with app.app_context():
        # The two clashes wrote nothing: one new key, for the one new row.
        assert _count(DataKey) == keys + 1
        row = db.session.scalar(select(HeldReport).where(HeldReport.reference == "FREEREF2"))
        assert row is not None and row.report is not None and CANARY in row.report
        assert _count(HeldReport) == 2

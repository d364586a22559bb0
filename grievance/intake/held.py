"""Web reports held for a job: the form's answer does not wait for the case.

The report form's request checks the report, seals it in one row under a
new data key (the key its case will keep) and shows the receipt. The job
`open_held_report` then opens the case with that reference, secret hash,
key and time, as `web.submit_report` would have in the request, and
deletes the row in the same transaction, so a report is opened once.

Nothing waits long: the job runs in this process right after the commit
in the embedded default, and within moments on an RQ worker. If the job is
lost, the periodic round opens what waited over a minute; a worker who
signs in with the receipt before that finds the case opened then. A report
from a worker in danger is never held: it is opened in the request, so the
on-call page does not depend on a queue.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grievance import crypto
from grievance.cases import services as case_services
from grievance.cases.models import Case
from grievance.datakeys import DataKey, utcnow
from grievance.extensions import after_commit, commit, db, row_lock
from grievance.intake import web
from grievance.intake.models import HeldReport
from grievance.intake.uploads import CleanFile
from grievance.notify import dispatch
from grievance.notify.jobs import each_in_its_own_transaction

# Held this long, its job is taken as lost: the periodic round opens it.
LEFT_OVER_AFTER = timedelta(minutes=1)


def _to_json(report: web.WebReport) -> str:
    fields = asdict(report)
    fields["files"] = [
        {
            "filename": item.filename,
            "content_type": item.content_type,
            "data": base64.b64encode(item.data).decode("ascii"),
        }
        for item in report.files
    ]
    return json.dumps(fields, ensure_ascii=False)


def _from_json(text: str) -> web.WebReport:
    fields: dict[str, Any] = json.loads(text)
    files = [
        CleanFile(
            filename=item["filename"],
            content_type=item["content_type"],
            data=base64.b64decode(item["data"]),
        )
        for item in fields.pop("files")
    ]
    return web.WebReport(**fields, files=files)


def hold(report: web.WebReport) -> case_services.Receipt:
    """Seal the report for the job that opens its case; the receipt (flushes)."""
    secret = crypto.random_code(case_services.SECRET_LENGTH)
    row = HeldReport(
        data_key=DataKey.create(),
        # (A case opened by SMS checks only the cases: a clash with a report
        # held for a moment has a chance of one in 32**8, about 1e-12.)
        reference=case_services.new_reference(HeldReport.reference),
        secret_hash=crypto.hash_secret(crypto.current_ring(), secret),
        received_at=utcnow(),
    )
    row.report = _to_json(report)
    db.session.add(row)
    db.session.flush()
    after_commit(partial(dispatch.enqueue, "open_held_report", row.id))
    return case_services.Receipt(
        reference=case_services.format_code(row.reference),
        secret=case_services.format_code(secret),
    )


def open_held(held_id: int) -> Case | None:
    """Open the case of a held report and delete the row (flushes); None if
    it was opened already."""
    # A second opener waits here, then finds the row gone.
    row = db.session.get(
        HeldReport, held_id, with_for_update=row_lock(HeldReport), populate_existing=True
    )
    if row is None or row.report is None:
        return None
    report = _from_json(row.report)
    assert row.data_key is not None
    case, _ = web.submit_report(
        report,
        issued=case_services.IssuedReceipt(
            reference=row.reference,
            secret_hash=row.secret_hash,
            data_key=row.data_key,
            received_at=row.received_at,
        ),
    )
    db.session.delete(row)
    db.session.flush()
    return case


def open_held_report(held_id: int) -> str:
    """Job: open the case of one held report."""
    case = open_held(held_id)
    commit()
    return "opened" if case is not None else "gone"


open_held_report.queue = "urgent"  # type: ignore[attr-defined]


def open_by_receipt(reference: str, secret: str) -> Case | None:
    """The worker signs in before the job ran: open the case now (the caller
    commits); None if the receipt names no held report."""
    row = db.session.scalar(
        select(HeldReport).where(HeldReport.reference == case_services.normalise_code(reference))
    )
    if row is None or not crypto.verify_secret(
        crypto.current_ring(), case_services.normalise_code(secret), row.secret_hash
    ):
        return None
    try:
        opened = open_held(row.id)
    except IntegrityError:
        # The job opened it at the same moment: take that case.
        db.session.rollback()
        opened = None
    return opened or case_services.find_by_receipt(reference, secret)


def open_left_over(now: datetime | None = None, limit: int = 50) -> int:
    """Periodic work: open the held reports whose job was lost, oldest
    first; how many were opened."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(HeldReport.id)
        .where(HeldReport.received_at < now - LEFT_OVER_AFTER)
        .order_by(HeldReport.id)
        .limit(limit)
    ).all()
    return each_in_its_own_transaction(
        ids, lambda held_id: open_held(held_id) is not None, "held report"
    )


def init_app(app: Flask) -> None:
    from grievance.notify import jobs

    jobs.REGISTRY["open_held_report"] = open_held_report
    app.extensions.setdefault("grievance.periodic", {})["held_reports"] = open_left_over

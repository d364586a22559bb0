"""Web reports held for a job: the form's answer does not wait for the case.

The report form's request checks the report, seals it in one row under a
new data key (the key its case will keep) and shows the receipt. The job
`open_held_reports` then opens each waiting report's case with that
reference, secret hash, key and time, as `web.submit_report` would have in
the request, and deletes the row in the same transaction, so a report is
opened once.

The request writes the key and the row in one statement on PostgreSQL, and
wakes the job (`dispatch.wake`) rather than queueing one per report: during
a burst of reports one run opens them all, and the request spends one Redis
command on it.

Nothing waits long: the job runs in this process right after the commit
in the embedded default, and within moments on an RQ worker. If the job is
lost, the periodic round opens what waited over a minute; a worker who
signs in with the receipt before that finds the case opened then. A report
from a worker in danger is never held: it is opened in the request, so the
on-call page does not depend on a queue.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import Executable, and_, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from grievance import crypto
from grievance.cases import services as case_services
from grievance.cases.models import Case
from grievance.datakeys import DataKey, KeyAtHand, utcnow
from grievance.extensions import after_commit, bound, commit, db, row_lock
from grievance.intake import web
from grievance.intake.models import HeldReport
from grievance.intake.uploads import CleanFile
from grievance.notify import dispatch
from grievance.notify.jobs import each_in_its_own_transaction, run_woken
from grievance.short_writes import Unit

# Held this long, its job is taken as lost: the periodic round opens it.
LEFT_OVER_AFTER = timedelta(minutes=1)
# One run of the job reads the waiting reports this many at a time, for up
# to RUN_FOR seconds; with more waiting it then wakes another run, so jobs
# queued meanwhile (a message to send) do not wait behind a burst.
BATCH = 50
RUN_FOR = 5.0
JOB = "open_held_reports"


def _to_json(report: web.WebReport) -> str:
    # Field by field, not `asdict`: it deep-copies every value, and the
    # files are replaced below anyway.
    fields = {item.name: getattr(report, item.name) for item in dataclass_fields(report)}
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


@functools.cache
def _hold_statements(dialect: str) -> tuple[Executable, ...]:
    """The hold's writes, built once, their values bound when they run.

    Nothing is written if a case or a held report has the reference
    already. On PostgreSQL one statement, so the answer waits for one round
    trip, not three (the look-up, the key, the row): the row is inserted
    unless a case has the reference, skipped by the held reports' unique
    reference (ON CONFLICT DO NOTHING), and the key only for a row that was
    inserted (the row's foreign key is checked when the statement ends).
    The held reports are not searched by a query: their table is nearly
    always empty, so its statistics say so, and a query planned then kept
    scanning the whole table as a burst of reports filled it (0.48 ms a
    report at 7,000 waiting; their unique index answers in microseconds).
    SQLite cannot put an INSERT in a WITH, and its statements cost no round
    trip: the key is written where the reference is free, then the row.
    """
    keys, rows = DataKey.__table__, HeldReport.__table__
    key_values = bound(keys, ["id", "kek_id", "wrapped"], "dek_")
    row = bound(rows, ["reference", "secret_hash", "received_at", "report_ct", "uid"])
    no_case = ~exists().where(Case.__table__.c.reference == row["reference"])
    if dialect == "postgresql":
        held = (
            pg_insert(rows)
            .from_select(
                [*row, "data_key_id"], select(*row.values(), key_values["id"]).where(no_case)
            )
            .on_conflict_do_nothing(index_elements=[rows.c.reference])
            .returning(rows.c.id, rows.c.data_key_id)
            .cte("held")
        )
        stored_key = insert(keys).from_select(
            [*key_values, "created_at"],
            select(
                held.c.data_key_id, key_values["kek_id"], key_values["wrapped"], row["received_at"]
            ),
        )
        return (select(held.c.id).add_cte(stored_key.cte("stored_key")),)
    free = and_(no_case, ~exists().where(rows.c.reference == row["reference"]))
    key = insert(keys).from_select(
        [*key_values, "created_at"], select(*key_values.values(), row["received_at"]).where(free)
    )
    written = insert(rows).values({**row, "data_key_id": key_values["id"]})
    return key, written.returning(rows.c.id)


def _store(unit: Unit, values: dict[str, Any]) -> int | None:
    """The held row's id; None if the reference was taken (nothing written)."""
    statements = _hold_statements(unit.dialect_name)
    if len(statements) == 1:
        held_id: int | None = unit.scalar(statements[0], values)
        return held_id
    key, row = statements
    if unit.rowcount(key, values) == 0:
        return None
    return int(unit.scalar(row, values))


@dataclass(frozen=True)
class Sealed:
    """A report sealed under its new data key, not stored yet (`store`)."""

    values: dict[str, Any]
    secret: str


def seal(report: web.WebReport) -> Sealed:
    """Seal the report for the job that opens its case: no database work."""
    secret = crypto.random_code(case_services.SECRET_LENGTH)
    key = KeyAtHand.new()
    uid = crypto.new_uid()
    values = {
        "dek_id": key.id,
        "dek_kek_id": key.kek_id,
        "dek_wrapped": key.wrapped,
        "received_at": utcnow(),
        "secret_hash": crypto.hash_secret(crypto.current_ring(), secret),
        # Sealed as the job's HeldReport will read it.
        "report_ct": key.seal(HeldReport, "report", uid, _to_json(report)),
        "uid": uid,
    }
    return Sealed(values=values, secret=secret)


def store(sealed: Sealed, unit: Unit) -> case_services.Receipt:
    """Store a sealed report in `unit` under a new reference; the receipt."""
    values = dict(sealed.values)
    while True:
        # (A case opened by SMS checks only the cases: a clash with a report
        # held for a moment has a chance of one in 32**8, about 1e-12.)
        values["reference"] = crypto.random_code(case_services.REFERENCE_LENGTH)
        if _store(unit, values) is not None:
            break
    after_commit(partial(dispatch.wake_soon, JOB))
    return case_services.Receipt(
        reference=case_services.format_code(values["reference"]),
        secret=case_services.format_code(sealed.secret),
    )


def open_held(held_id: int, *, wait: bool = True) -> Case | None:
    """Open the case of a held report and delete the row (flushes); None if
    it was opened already, or (`wait=False`) another run is opening it."""
    lock = row_lock(HeldReport)
    if lock is not None and not wait:
        # Two runs of the job side by side take turns, not the same rows.
        lock = {**lock, "skip_locked": True}
    # A second opener waits here, then finds the row gone.
    row = db.session.get(HeldReport, held_id, with_for_update=lock, populate_existing=True)
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


def open_held_reports() -> str:
    """Job (woken by `hold`): open the waiting reports' cases, oldest first,
    each in its own transaction; another run if time ran out first.

    A report that cannot be opened stays (logged, for the periodic round)
    and the run goes on past it, so it never holds up the reports after it.
    """

    def waiting_after(after: int) -> Sequence[int]:
        return db.session.scalars(
            select(HeldReport.id).where(HeldReport.id > after).order_by(HeldReport.id).limit(BATCH)
        ).all()

    opened, more = run_woken(
        JOB,
        waiting_after,
        lambda held_id: open_held(held_id, wait=False) is not None,
        "held report",
        batch=BATCH,
        run_for=RUN_FOR,
    )
    return f"opened {opened}" + (", more waiting" if more else "")


open_held_reports.queue = "urgent"  # type: ignore[attr-defined]


def open_by_receipt(reference: str, secret: str) -> Case | None:
    """The worker signs in before the job ran: open the case now (the caller
    commits); None if the receipt names no held report."""
    code = case_services.normalise_code(reference)
    row = db.session.scalar(select(HeldReport).where(HeldReport.reference == code))
    if row is None:
        # The job may have opened it between the caller's look-up of the
        # case and this one: then the case has the reference now. (Checked
        # by id first: a wrong reference costs no second secret check.)
        if db.session.scalar(select(Case.id).where(Case.reference == code)) is None:
            return None
        return case_services.find_by_receipt(reference, secret)
    if not crypto.verify_secret(
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

    # (open_held_report: a job a report, as queued before the form woke
    # open_held_reports; kept so such jobs still run.)
    jobs.REGISTRY["open_held_report"] = open_held_report
    jobs.REGISTRY[JOB] = open_held_reports
    app.extensions.setdefault("grievance.periodic", {})["held_reports"] = open_left_over

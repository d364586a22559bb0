"""Retention: purging cases closed longer ago than the retention period.

The properties: after a purge no ciphertext and no wrapped data key of a
purged case is left anywhere in the database (the rows, and on SQLite the
file itself), every count the reports show is unchanged, nothing else is
touched, and the audit trail still verifies.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import LargeBinary, func, select

from config import TestingConfig
from grievance import create_app
from grievance.cases import audit, retention, settings
from grievance.cases.models import (
    AggregateCount,
    Attachment,
    Case,
    CaseClock,
    CaseEvent,
    Consent,
    Message,
    Partner,
    Referral,
    ReferralUpdate,
)
from grievance.cases.referral_models import ConsentRequest, Escalation
from grievance.cases.workspace_models import CaseParty
from grievance.datakeys import DataKey, utcnow
from grievance.extensions import commit, db
from grievance.intake.models import Conversation, InboundMessage
from grievance.notify.models import OutboundMessage
from grievance.reports import export, queries
from grievance.reports.period import Period
from grievance.seed.taxonomy import load_partners, load_taxonomy
from grievance.staff.models import StaffUser
from tests.conftest import make_case, make_staff

LONG_AGO = timedelta(days=800)


def sealed_values(table: Any) -> Iterator[bytes]:
    """Every binary value of a table, as stored."""
    for column in table.columns:
        if isinstance(column.type, LargeBinary) or column.name.endswith("_ct"):
            for value in db.session.scalars(select(column).where(column.is_not(None))):
                yield bytes(value)


def all_binary_values() -> set[bytes]:
    found: set[bytes] = set()
    for table in db.metadata.sorted_tables:
        found.update(sealed_values(table))
    return found


def full_case(*, closed_days_ago: int | None, language: str = "vi", employer: str = "Acme") -> Case:
    """A case with a row in every table that hangs off a case."""
    case, _ = make_case(
        language=language,
        narrative=f"Story {language} {closed_days_ago}",
        categories=["WAGE_UNPAID", "DOC_RETAIN"],
        contact={"phone": "+819012345678"},
        intermediaries={"employer": employer},
    )
    key = case.data_key
    assert key is not None
    message = Message(
        data_key=key, case_id=case.id, direction="in", channel="sms", author_kind="worker"
    )
    message.body = "They took my passport"
    db.session.add(message)
    db.session.flush()
    attachment = Attachment(
        data_key=key, case_id=case.id, message_id=message.id, content_type="image/png", size=3
    )
    attachment.filename = "payslip.png"
    attachment.data = b"png"
    consent = Consent(case_id=case.id, scope="store", method="web_tick")
    partner = db.session.scalar(select(Partner).where(Partner.type_code == "LAW"))
    assert partner is not None
    referral = Referral(case_id=case.id, partner_id=partner.id, status="completed")
    db.session.add_all([attachment, consent, referral])
    db.session.flush()
    update = ReferralUpdate(
        data_key=key, referral_id=referral.id, author_kind="advisor", kind="update"
    )
    update.body = "We met the worker"
    outbox = OutboundMessage(data_key=key, channel="sms", purpose="reply", case_id=case.id)
    outbox.recipient = "+819012345678"
    outbox.body = "Reply text"
    conversation = Conversation(
        data_key=key, channel="sms", sender_index=f"idx-{case.id}", case_id=case.id
    )
    conversation.address = "+819012345678"
    escalation = Escalation(data_key=key, case_id=case.id, platform="jacer")
    escalation.company = "Acme Holdings"
    db.session.add_all(
        [
            update,
            outbox,
            conversation,
            escalation,
            CaseClock(case_id=case.id, kind="wage_claim", due_at=utcnow() + timedelta(days=9)),
            CaseParty(case_id=case.id, role="sending_agency", name_key="k" * 64),
            ConsentRequest(case_id=case.id, scope="share_identity"),
        ]
    )
    db.session.flush()
    inbound = InboundMessage(
        data_key=key,
        provider_id=f"SM{case.id:032d}",
        conversation_id=conversation.id,
        channel="sms",
    )
    inbound.body = "hello"
    db.session.add(inbound)
    if closed_days_ago is not None:
        case.status = "closed"
        case.closed_at = utcnow() - timedelta(days=closed_days_ago)
        case.outcome = "apology"
        case.feedback_solved = "yes"
        case.acknowledged_at = case.created_at + timedelta(hours=3)
        case.first_response_at = case.acknowledged_at
        case.resolved_at = case.created_at + timedelta(days=20)
        case.resolved_by_dialogue = True
        case.conflict_checked = True
    commit()
    return case


def case_secrets(case_id: int) -> tuple[str, set[bytes]]:
    """The data key id of a case and every sealed value stored under it."""
    case = db.session.get(Case, case_id)
    assert case is not None and case.data_key_id is not None
    key_id = case.data_key_id
    wrapped = bytes(case.data_key.wrapped)  # type: ignore[union-attr]
    values = {wrapped}
    for table in db.metadata.sorted_tables:
        column = table.c.get("data_key_id")
        if column is None:
            continue
        for row in db.session.execute(select(table).where(column == key_id)).mappings():
            for name, value in row.items():
                if isinstance(value, bytes | memoryview) and (name.endswith("_ct")):
                    values.add(bytes(value))
    return key_id, values


def report_numbers() -> dict[str, Any]:
    period = Period.ending(months=120)
    now = utcnow()
    data = queries.build_report(period, now)
    return {
        "months": data.months,
        "dimensions": data.dimensions,
        "repeats": {k: (v.names, v.cases) for k, v in data.repeats.items()},
        "csv": export.csv_rows(period, "month", now),
    }


@pytest.fixture
def file_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on an SQLite file, so the test can read the raw bytes."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with app.app_context():
        db.create_all()
        load_taxonomy()
        load_partners()
        commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def purge_and_check_nothing_is_left() -> tuple[set[bytes], int]:
    """Purge three expired cases among kept ones and check, in the database,
    that nothing of theirs is left and every count is unchanged.

    Returns the sealed values of the purged cases (for a raw-file check) and
    the id of a kept case. Shared with the PostgreSQL suite."""
    staff, _ = make_staff("caseworker", "cw@example.org")
    old = [full_case(closed_days_ago=800, language=lang) for lang in ("vi", "ne", "vi")]
    recent = full_case(closed_days_ago=10, language="id")
    open_case = full_case(closed_days_ago=None, language="my")
    # An outbox row about an old case, sealed under a staff member's key
    # (a page to the on-call list): the row goes, the staff key stays.
    page = OutboundMessage(
        data_key=staff.data_key, channel="sms", purpose="page", case_id=old[0].id
    )
    page.recipient = "+819000000000"
    page.body = "New P0 case"
    db.session.add(page)
    commit()
    purged_keys: set[str] = set()
    purged_values: set[bytes] = set()
    for case in old:
        key_id, values = case_secrets(case.id)
        purged_keys.add(key_id)
        purged_values |= values
    assert len(purged_values) > 3 * 10
    kept_ids = (recent.id, open_case.id)
    old_ids = [c.id for c in old]
    staff_id = staff.id
    before = report_numbers()

    assert retention.plan_purge().count == 3
    assert retention.purge_expired(batch_size=2) == 3

    # Rows: none of the purged cases or anything hanging off them.
    assert db.session.scalar(select(func.count()).where(Case.id.in_(old_ids))) == 0
    for model in (Message, Attachment, Consent, Referral, CaseClock, CaseParty, Escalation):
        remaining = db.session.scalar(
            select(func.count()).select_from(model).where(model.case_id.in_(old_ids))  # type: ignore[attr-defined]
        )
        assert remaining == 0, model.__tablename__
    assert db.session.scalar(select(func.count()).select_from(ReferralUpdate)) == 2
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 2
    assert db.session.scalar(select(func.count()).where(OutboundMessage.case_id.in_(old_ids))) == 0
    indexes = [f"idx-{i}" for i in old_ids]
    assert (
        db.session.scalar(select(func.count()).where(Conversation.sender_index.in_(indexes))) == 0
    )
    # Keys: the purged cases' data keys are gone, every other key stays.
    assert db.session.scalar(select(func.count()).where(DataKey.id.in_(purged_keys))) == 0
    # Ciphertext: not one sealed value of a purged case in any table.
    assert not (purged_values & all_binary_values())
    # Everything else still reads.
    db.session.expunge_all()
    for case_id in kept_ids:
        kept = db.session.get(Case, case_id)
        assert kept is not None and kept.narrative.startswith("Story")
    staff_again = db.session.get(StaffUser, staff_id)
    assert staff_again is not None and len(staff_again.totp_secret) >= 16
    # The counts the reports show are exactly the same.
    assert report_numbers() == before
    assert db.session.scalar(select(func.count()).select_from(AggregateCount)) > 0
    # The audit trail: one event per purged case, ids only, chain intact.
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "case.purged")).all()
    assert sorted(e.case_id for e in events) == sorted(old_ids)  # type: ignore[type-var]
    assert all(set(e.detail) == {"retention_days"} for e in events)
    assert audit.verify_chain().ok
    return purged_values, kept_ids[0]


def test_purge_leaves_no_ciphertext_and_no_wrapped_key(file_app: Flask, tmp_path: Path) -> None:
    with file_app.app_context():
        purged_values, kept_id = purge_and_check_nothing_is_left()
        kept_values = case_secrets(kept_id)[1]
        db.engine.dispose()
    # And the file itself: no copy left in free pages or the write-ahead log.
    with sqlite3.connect(tmp_path / "g.sqlite3") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("g.sqlite3*"))
    assert not [value for value in purged_values if value in raw]
    # The kept cases' ciphertext is still in the file (the check can see it).
    assert any(value in raw for value in kept_values)


def test_retention_period_comes_from_the_admin_setting(app: Flask) -> None:
    with app.app_context():
        case_id = full_case(closed_days_ago=100).id
        assert retention.plan_purge().count == 0  # default: 730 days
        settings.put_value(settings.RETENTION_DAYS, 90)
        commit()
        assert retention.plan_purge().retention_days == 90
        assert retention.purge_expired() == 1
        assert db.session.get(Case, case_id) is None


def test_reopened_and_open_cases_are_never_purged(app: Flask) -> None:
    with app.app_context():
        reopened = full_case(closed_days_ago=900)
        reopened.status = "in_progress"  # reopened, closed_at kept from before
        never_closed = full_case(closed_days_ago=None)
        never_closed.created_at = utcnow() - timedelta(days=2000)
        commit()
        ids = (reopened.id, never_closed.id)
        assert retention.purge_expired() == 0
        assert all(db.session.get(Case, i) is not None for i in ids)


def test_cli_dry_run_changes_nothing_then_purges(app: Flask, runner: Any) -> None:
    with app.app_context():
        for _ in range(3):
            full_case(closed_days_ago=LONG_AGO.days)
        full_case(closed_days_ago=5)
    dry = runner.invoke(args=["grievance", "purge-expired", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "retention: 730 days" in dry.output and ": 3" in dry.output
    assert "nothing was purged" in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 4
    result = runner.invoke(args=["grievance", "purge-expired", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "purging expired cases" in result.output and "purged: 3" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    again = runner.invoke(args=["grievance", "purge-expired"])
    assert "purged: 0" in again.output


def test_an_interrupted_purge_resumes_without_counting_twice(app: Flask) -> None:
    with app.app_context():
        for _ in range(5):
            full_case(closed_days_ago=LONG_AGO.days)
        before = report_numbers()

        def stop_after_first(_: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            retention.purge_expired(batch_size=2, progress=stop_after_first)
        assert retention.plan_purge().count == 3
        assert retention.purge_expired(batch_size=2) == 3
        assert report_numbers() == before

"""Escalation to JaCER: its own record and status, never a referral."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text

from grievance.cases import consent, escalation
from grievance.cases.models import CaseEvent, Referral
from grievance.extensions import commit, db
from tests.cases.referral_helpers import build, case_of, caseworker, grant

COMPANY = "CANARY Apparel Holdings"


def test_escalating_needs_consent_to_contact_the_employer(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        with pytest.raises(escalation.EscalationError):
            escalation.create_escalation(
                caseworker(world), case_of(world), "jacer", company=COMPANY
            )
        grant(world, "contact_employer")
        item = escalation.create_escalation(
            caseworker(world), case_of(world), "jacer", company=COMPANY, summary="Unpaid wages"
        )
        commit()
        assert item.status == "draft" and item.consent_id is not None
        assert db.session.query(Referral).count() == 0  # not a referral
        raw = db.session.execute(text("SELECT company_ct FROM escalations")).scalar_one()
        assert COMPANY.encode() not in bytes(raw)
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "escalation.created"))
        assert event is not None and COMPANY not in str(event.detail)


def test_status_moves_along_its_own_path(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "contact_employer")
        item = escalation.create_escalation(
            caseworker(world), case_of(world), "jacer", company=COMPANY
        )
        assert escalation.next_statuses(item) == ["submitted", "closed"]
        with pytest.raises(escalation.EscalationError):
            escalation.update_escalation(caseworker(world), item, "company_responded")
        escalation.update_escalation(caseworker(world), item, "submitted", external_ref="J-2026-17")
        escalation.update_escalation(caseworker(world), item, "forwarded")
        escalation.update_escalation(
            caseworker(world), item, "company_responded", note="The company offered back pay."
        )
        escalation.update_escalation(caseworker(world), item, "closed")
        commit()
        assert item.status == "closed" and item.closed_at is not None
        assert item.submitted_at is not None and item.external_ref == "J-2026-17"
        assert item.note == "The company offered back pay."
        assert escalation.next_statuses(item) == []
        moves = [
            (e.detail["from"], e.detail["to"])
            for e in db.session.scalars(
                select(CaseEvent)
                .where(CaseEvent.kind == "escalation.status")
                .order_by(CaseEvent.seq)
            )
        ]
        assert moves == [
            ("draft", "submitted"),
            ("submitted", "forwarded"),
            ("forwarded", "company_responded"),
            ("company_responded", "closed"),
        ]


def test_a_withdrawn_consent_stops_the_filing(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "contact_employer")
        item = escalation.create_escalation(
            caseworker(world), case_of(world), "jacer", company=COMPANY
        )
        commit()
        consent.withdraw_all_by_worker(case_of(world))
        with pytest.raises(escalation.EscalationError):
            escalation.update_escalation(caseworker(world), item, "submitted")


def test_unknown_platforms_and_missing_company_are_refused(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "contact_employer")
        with pytest.raises(escalation.EscalationError):
            escalation.create_escalation(caseworker(world), case_of(world), "other", company="X")
        with pytest.raises(escalation.EscalationError):
            escalation.create_escalation(caseworker(world), case_of(world), "jacer", company=" ")

"""Triage services and red flags at intake: urgency, paging, keyed names, clocks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from grievance.cases import messaging, triage
from grievance.cases.models import Case, CaseEvent
from grievance.cases.workspace_models import CaseParty
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.notify.models import OutboundMessage
from tests.conftest import make_case, make_staff


def pages(case_id: int) -> list[OutboundMessage]:
    return list(
        db.session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.case_id == case_id, OutboundMessage.purpose == "page"
            )
        )
    )


def test_p0_words_at_intake_raise_urgency_and_page_on_call_staff(app: Flask) -> None:
    with app.app_context():
        on_call, _ = make_staff("caseworker", "oncall@example.org")
        off_duty, _ = make_staff("caseworker", "off@example.org")
        on_call.on_call = True
        commit()
        channel = app.extensions["grievance.channel"]
        before = len(getattr(channel, "sent", []))
        case, _ = make_case(narrative="Tôi bị nhốt trong phòng, không cho ra ngoài.", urgency="P3")
        assert case.urgency == "P0" and case.urgency_reason == "red_flag"
        hours = (case.due_at - case.created_at).total_seconds() / 3600
        assert hours == pytest.approx(1, abs=0.01)
        rows = pages(case.id)
        assert len(rows) == 1
        assert rows[0].recipient == "oncall@example.org"
        body = rows[0].body or ""
        # Neutral: a link to the case page, not one word of the worker's.
        assert f"/staff/cases/{case.reference[:4]}-{case.reference[4:]}" in body
        assert "nhốt" not in body and "P0" not in body and "vi" not in body.split()
        flag = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "case.red_flag")).one()
        assert flag.detail == {"signals": ["confinement"], "urgency": ["P3", "P0"]}
        # Delivered after the commit, through the outbox.
        assert len(getattr(channel, "sent", [])) > before
        assert off_duty.email not in json.dumps([r.recipient for r in pages(case.id)])


def test_a_case_reported_as_danger_pages_too(app: Flask) -> None:
    with app.app_context():
        staff, _ = make_staff("caseworker", "oncall@example.org")
        staff.on_call = True
        commit()
        case, _ = make_case(narrative="Please help.", in_danger=True)
        assert case.urgency == "P0"
        assert len(pages(case.id)) == 1


def test_p1_words_raise_to_p1_without_paging(app: Flask) -> None:
    with app.app_context():
        staff, _ = make_staff("caseworker", "oncall@example.org")
        staff.on_call = True
        commit()
        case, _ = make_case(narrative="The company took my passport.", urgency="P3")
        assert case.urgency == "P1"
        assert pages(case.id) == []


def test_red_flags_never_lower_an_urgency(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case(narrative="They took my passport", urgency="P0")
        assert case.urgency == "P0"


def test_inbound_message_with_p0_words_raises_the_case(app: Flask) -> None:
    with app.app_context():
        staff, _ = make_staff("caseworker", "oncall@example.org")
        staff.on_call = True
        commit()
        case, _ = make_case(urgency="P2", channel="sms")
        messaging.record_inbound(case, "sms", "Saya ingin mati saja", provider_id="SM1")
        commit()
        assert case.urgency == "P0"
        assert len(pages(case.id)) == 1
        # A second alarming message does not page again for the same case.
        messaging.record_inbound(case, "sms", "bunuh diri", provider_id="SM2")
        commit()
        assert len(pages(case.id)) == 1


def test_suggestions_follow_the_taxonomy(app: Flask) -> None:
    with app.app_context():
        cats = ["WAGE_UNPAID", "DOC_RETAIN", "NO_SUCH_CODE"]  # an unknown code is left out
        assert triage.suggest_indicators(cats) == ["AWLC", "RID", "RM", "WW"]
        assert triage.suggest_urgency(cats, triage.scan("")) == "P1"
        assert triage.suggest_urgency(cats, triage.scan("I want to die")) == "P0"
        assert triage.suggest_urgency([], triage.scan("")) is None


def test_triage_refuses_unknown_codes(app: Flask) -> None:
    with app.app_context():
        actor, _ = make_staff()
        case, _ = make_case()
        for data in (
            triage.TriageInput(["NOPE"], [], case.urgency, None, None),
            triage.TriageInput([], ["ZZ"], case.urgency, None, None),
            triage.TriageInput([], [], "P7", "other", None),
            triage.TriageInput([], [], case.urgency, None, "MARTIAN"),
            triage.TriageInput([], [], case.urgency, "because", None),
            triage.TriageInput([], [], case.urgency, None, None, {"boss": "x"}),
        ):
            with pytest.raises(triage.TriageError):
                triage.triage_case(actor, case, data)


def test_lowering_urgency_before_first_contact_moves_the_deadline_back(app: Flask) -> None:
    with app.app_context():
        actor, _ = make_staff()
        case, _ = make_case(urgency="P1")
        data = triage.TriageInput([], [], "P3", "lower_risk", None)
        triage.triage_case(actor, case, data)
        commit()
        db.session.expire_all()
        assert (case.due_at - case.created_at).days >= 5


def test_repeat_employers_are_counted_without_names(app: Flask) -> None:
    with app.app_context():
        actor, _ = make_staff()
        for name in ("Demo Farm 株式会社", "demo  FARM kk", "Ｄｅｍｏ Ｆａｒｍ"):
            case, _ = make_case()
            triage.triage_case(
                actor,
                case,
                triage.TriageInput([], [], case.urgency, None, None, {"employer": name}),
            )
        other, _ = make_case()
        triage.triage_case(
            actor,
            other,
            triage.TriageInput([], [], other.urgency, None, None, {"employer": "Other Works"}),
        )
        commit()
        repeats = triage.repeat_parties("employer")
        assert len(repeats) == 1 and repeats[0][1] == 3
        assert all("Demo" not in key for key, _ in repeats)
        # Clearing a name removes its key.
        triage.triage_case(actor, other, triage.TriageInput([], [], other.urgency, None, None, {}))
        commit()
        assert db.session.scalar(select(CaseParty).where(CaseParty.case_id == other.id)) is None
        assert other.employer_key is None


def test_statutory_clocks() -> None:
    assert triage.clock_due("wage_claim", date(2026, 2, 1)) == datetime(2029, 1, 31, 15, tzinfo=UTC)
    assert triage.clock_due("wage_claim", date(2024, 2, 29)).date() == date(2027, 2, 27)
    assert triage.clock_due("affiliation_change", date(2026, 5, 1)) == datetime(
        2026, 5, 14, 15, tzinfo=UTC
    )
    assert triage.clock_due("status_expiry", date(2026, 7, 1)) == datetime(
        2026, 6, 30, 15, tzinfo=UTC
    )


def test_next_due_moves_closer_when_urgency_rises(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case(urgency="P3")
        now = utcnow()
        due = triage.next_due(case, "P0", now)
        assert due <= now + timedelta(hours=1, seconds=1)
        db.session.get(Case, case.id).due_at = now + timedelta(minutes=5)
        assert triage.next_due(case, "P1", now) <= now + timedelta(minutes=5, seconds=1)

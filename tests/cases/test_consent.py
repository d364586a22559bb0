"""Consent per scope and partner: given three ways, withdrawn at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from grievance.cases import consent, referrals
from grievance.cases.models import CaseEvent, Consent, Message, ReferralUpdate
from grievance.cases.referral_models import ConsentRequest
from grievance.extensions import commit, db
from grievance.intake import feedback_text
from tests.cases.referral_helpers import build, case_of, caseworker, grant


def test_fields_follow_the_consents_for_that_partner(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case = case_of(world)
        union = db.session.get(consent.Partner, world.union_id)
        lawyers = db.session.get(consent.Partner, world.lawyers_id)
        assert union is not None and lawyers is not None
        assert consent.covered_fields(case, union) == frozenset()
        grant(world, "share_narrative")  # any partner
        assert consent.covered_fields(case_of(world), union) == {"narrative"}
        grant(world, "share_identity", world.union_id)
        case = case_of(world)
        assert consent.covered_fields(case, union) == set(consent.FIELDS)
        # Identity is for the union only; the lawyers get the story alone.
        assert consent.covered_fields(case, lawyers) == {"narrative"}


def test_identity_needs_a_named_partner(app: Flask) -> None:
    world = build(app)
    with app.app_context(), pytest.raises(consent.InvalidConsentError):
        consent.record_consent(caseworker(world), case_of(world), "share_identity", method="spoken")


def test_who_records_depends_on_how(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case = case_of(world)
        with pytest.raises(consent.InvalidConsentError):
            consent.record_consent(None, case, "share_narrative", method="spoken")
        with pytest.raises(consent.InvalidConsentError):
            consent.record_consent(caseworker(world), case, "share_narrative", method="web_tick")
        with pytest.raises(consent.InvalidConsentError):
            consent.record_consent(caseworker(world), case, "store", method="spoken")
        with pytest.raises(consent.InvalidConsentError):
            consent.record_consent(caseworker(world), case, "share_narrative", method="guess")


def test_recording_twice_keeps_one_consent_and_one_event(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        first = consent.record_consent(
            caseworker(world), case_of(world), "contact_employer", method="spoken"
        )
        again = consent.record_consent(
            caseworker(world), case_of(world), "contact_employer", method="spoken"
        )
        commit()
        assert first.id == again.id
        events = db.session.scalars(
            select(CaseEvent).where(CaseEvent.kind == "consent.granted")
        ).all()
        assert len(events) == 1
        assert events[0].detail == {
            "consent_id": first.id,
            "scope": "contact_employer",
            "partner_id": None,
            "method": "spoken",
        }
        assert events[0].actor_id == world.caseworker_id


def test_withdrawal_ends_access_and_tells_the_advisor(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "share_narrative", world.union_id)
        grant(world, "share_identity", world.union_id)
        referral = referrals.create_referral(
            caseworker(world), case_of(world), world.union_id, ["narrative", "identity", "contact"]
        )
        commit()
        assert referrals.visible_fields(referral) == ("narrative", "identity", "contact")
        identity = consent.covering(case_of(world), "share_identity", world.union_id)
        assert identity is not None
        consent.withdraw_by_worker(case_of(world), identity.id)
        commit()
        assert referrals.visible_fields(referral) == ("narrative",)
        note = db.session.scalar(select(ReferralUpdate).where(ReferralUpdate.kind == "consent"))
        assert note is not None and note.body == "share_identity"
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "consent.withdrawn"))
        assert event is not None
        assert event.detail["method"] == "web_tick" and event.actor_id is None
        # Withdrawing again changes nothing.
        consent.withdraw_by_worker(case_of(world), identity.id)
        commit()
        assert (
            db.session.query(CaseEvent).filter(CaseEvent.kind == "consent.withdrawn").count() == 1
        )


def test_the_worker_cannot_withdraw_what_is_not_theirs(app: Flask) -> None:
    world = build(app)
    other = build_other_case(app)
    with app.app_context():
        grant(world, "share_narrative")
        mine = case_of(world).consents[-1]
        with pytest.raises(consent.NoSuchConsentError):
            consent.withdraw_by_worker(other(), mine.id)
        store = Consent(case_id=world.case_id, scope="store", method="web_tick")
        db.session.add(store)
        commit()
        with pytest.raises(consent.NoSuchConsentError):
            consent.withdraw_by_worker(case_of(world), store.id)


def build_other_case(app: Flask):  # type: ignore[no-untyped-def]
    from tests.conftest import make_case

    with app.app_context():
        case, _ = make_case(language="ne", narrative="another worker")
        case_id = case.id

    def load():  # type: ignore[no-untyped-def]
        return db.session.get(consent.Case, case_id)

    return load


def test_a_question_by_message_is_answered_by_yes(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        request = consent.ask_consent(
            caseworker(world), case_of(world), "share_identity", partner_id=world.union_id
        )
        commit()
        sent = db.session.scalars(
            select(Message).where(Message.case_id == world.case_id, Message.direction == "out")
        ).all()
        assert len(sent) == 1
        assert sent[0].body == feedback_text.consent_question(
            "vi", "share_identity", "DEMO Kanto Example General Union"
        )
        assert "DEMO Kanto Example General Union" in (sent[0].body or "")
        question = consent.worker_question(case_of(world))
        assert question is not None and question.id == request.id
        granted = consent.record_message_yes(case_of(world), message_id=77)
        commit()
        assert granted is not None
        assert (granted.scope, granted.partner_id, granted.method) == (
            "share_identity",
            world.union_id,
            "message_yes",
        )
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "consent.granted"))
        assert event is not None and event.detail["message_id"] == 77
        # The question is answered: another YES grants nothing more.
        assert consent.open_request(case_of(world)) is None
        assert consent.record_message_yes(case_of(world)) is None


def test_a_new_question_replaces_the_open_one(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        first = consent.ask_consent(caseworker(world), case_of(world), "share_narrative")
        second = consent.ask_consent(caseworker(world), case_of(world), "contact_employer")
        commit()
        assert db.session.get(ConsentRequest, first.id).closed_at is not None  # type: ignore[union-attr]
        granted = consent.record_message_yes(case_of(world))
        assert granted is not None and granted.scope == "contact_employer"
        assert second.consent_id == granted.id


def test_an_old_question_is_not_answered_by_a_late_yes(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        request = consent.ask_consent(caseworker(world), case_of(world), "share_narrative")
        request.asked_at = request.asked_at - consent.QUESTION_TTL - timedelta(hours=1)
        commit()
        assert consent.record_message_yes(case_of(world)) is None
        assert consent.active_consents(case_of(world)) == []


def test_the_worker_ticks_the_question_on_the_follow_up_page(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        request = consent.ask_consent(
            caseworker(world), case_of(world), "share_identity", partner_id=world.lawyers_id
        )
        commit()
        with pytest.raises(consent.NoSuchConsentError):
            consent.grant_by_worker(case_of(world), request.id + 1)
        granted = consent.grant_by_worker(case_of(world), request.id)
        commit()
        assert granted.method == "web_tick" and granted.recorded_by_id is None
        listed = consent.worker_consents(case_of(world))
        assert [(c.scope, c.partner_name, c.active) for c in listed] == [
            ("share_identity", "DEMO Aozora Law Office - Migrant Labour Team", True)
        ]


def test_the_worker_can_stop_all_sharing_at_once(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "share_narrative")
        grant(world, "share_identity", world.union_id)
        grant(world, "contact_employer")
        ended = consent.withdraw_all_by_worker(case_of(world))
        commit()
        assert len(ended) == 3
        assert consent.active_consents(case_of(world)) == []
        assert all(not c.active for c in consent.worker_consents(case_of(world)))


@pytest.mark.parametrize(
    "text", ["YES", "yes.", " Có ", "có", "Sim", "ya", "はい", "हो", "ہاں", "ဟုတ်ကဲ့", "Oo!"]
)
def test_yes_in_the_worker_languages(text: str) -> None:
    assert consent.is_yes(text)


@pytest.mark.parametrize("text", ["no", "yes but not the name", "", "1", "không"])
def test_anything_else_is_not_yes(text: str) -> None:
    assert not consent.is_yes(text)

"""Referrals: only within consent, partners told without case data, clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from grievance.cases import consent, partners, referrals
from grievance.cases.deadlines import JST
from grievance.cases.models import CaseClock, CaseEvent, Partner, Referral
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.notify.models import OutboundMessage
from tests.cases.referral_helpers import (
    EMPLOYER,
    NAME,
    NARRATIVE,
    PHONE,
    advisor,
    build,
    case_of,
    caseworker,
    grant,
)


def refer(world, partner: int, fields: list[str], **kwargs):  # type: ignore[no-untyped-def]
    referral = referrals.create_referral(
        caseworker(world), case_of(world), partner, fields, **kwargs
    )
    commit()
    return referral


def test_nothing_is_shared_without_consent(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        with pytest.raises(referrals.ReferralNotAllowed) as refused:
            refer(world, world.union_id, ["narrative"])
        assert "What happened" in str(refused.value.message)
        # Facts only: an anonymous referral to a partner that takes them.
        referral = refer(world, world.union_id, [])
        assert referral.anonymous and referral.shared_fields == []


def test_identity_consent_is_per_partner(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "share_narrative")
        grant(world, "share_identity", world.union_id)
        with pytest.raises(referrals.ReferralNotAllowed):
            refer(world, world.lawyers_id, ["narrative", "identity"])
        referral = refer(world, world.union_id, ["identity", "narrative", "contact"])
        assert referral.shared_fields == ["narrative", "identity", "contact"]
        assert not referral.anonymous
        assert (
            referral.consent_id
            == consent.covering(case_of(world), "share_identity", world.union_id).id
        )  # type: ignore[union-attr]


def test_a_body_that_needs_identity_refuses_an_anonymous_referral(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "share_narrative")
        with pytest.raises(referrals.ReferralNotAllowed) as refused:
            refer(world, world.lawyers_id, ["narrative"])
        assert "anonymous" in str(refused.value.message)


def test_an_immigration_exposed_body_needs_consent_and_an_acknowledged_warning(
    app: Flask,
) -> None:
    world = build(app, categories=["VISA_STATUS"], residence_status="ENG")
    with app.app_context():
        isa = partners.partner_by_code("G-ISA-INFO")
        assert isa is not None and isa.immigration_exposure
        with pytest.raises(referrals.ReferralNotAllowed):
            refer(world, isa.id, [], acknowledge_exposure=True)
        grant(world, "immigration_bodies")
        with pytest.raises(referrals.ImmigrationWarningNotAcknowledged):
            refer(world, isa.id, [])
        referral = refer(world, isa.id, [], acknowledge_exposure=True)
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "referral.created"))
        assert event is not None and event.detail["exposure_acknowledged"] is True
        assert referral.status == "offered"


def test_without_immigration_consent_an_exposed_body_sees_nothing(app: Flask) -> None:
    world = build(app, categories=["VISA_STATUS"], residence_status="ENG")
    with app.app_context():
        isa = partners.partner_by_code("G-ISA-FRESC")
        assert isa is not None
        grant(world, "share_narrative")
        grant(world, "immigration_bodies", isa.id)
        assert consent.covered_fields(case_of(world), isa) == {"narrative"}
        referral = refer(world, isa.id, ["narrative"], acknowledge_exposure=True)
        immigration = consent.covering(case_of(world), "immigration_bodies", isa.id)
        assert immigration is not None
        consent.withdraw_by_worker(case_of(world), immigration.id)
        commit()
        assert referrals.visible_fields(referral) == ()


def test_an_ineligible_partner_is_refused(app: Flask) -> None:
    world = build(app, residence_status="NIK")
    with app.app_context():
        otit = partners.partner_by_code("G-OTIT")
        assert otit is not None
        with pytest.raises(referrals.ReferralNotAllowed):
            refer(world, otit.id, [])


def test_one_live_referral_per_partner_and_only_for_open_cases(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        refer(world, world.union_id, [])
        with pytest.raises(referrals.ReferralNotAllowed):
            refer(world, world.union_id, [])
        case_of(world).status = "closed"
        commit()
        hotline = partners.partner_by_code("G-MHLW-HOTLINE")
        assert hotline is not None
        with pytest.raises(referrals.ReferralNotAllowed):
            refer(world, hotline.id, [])


def test_inactive_partners_cannot_be_chosen(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        union = db.session.get(Partner, world.union_id)
        assert union is not None
        union.active = False
        commit()
        with pytest.raises(referrals.ReferralNotAllowed):
            refer(world, world.union_id, [])


def test_referring_moves_the_case_and_starts_the_check_in_clock(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        before = utcnow()
        refer(world, world.union_id, [])
        case = case_of(world)
        assert case.status == "referred"
        clock = db.session.scalar(select(CaseClock).where(CaseClock.case_id == case.id))
        assert clock is not None and clock.kind == referrals.CHECK_IN
        due = clock.due_at if clock.due_at.tzinfo else clock.due_at.replace(tzinfo=UTC)
        assert timedelta(days=7) <= due - before < timedelta(days=7, minutes=1)
        transitions = db.session.scalars(
            select(CaseEvent).where(CaseEvent.kind == "case.transition")
        ).all()
        assert transitions[-1].detail == {
            "action": "refer",
            "from": "acknowledged",
            "to": "referred",
        }


def test_a_new_case_is_started_before_it_is_referred(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case_of(world).status = "new"
        commit()
        refer(world, world.union_id, [])
        assert case_of(world).status == "referred"


def test_the_partner_gets_a_link_and_no_case_data(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "share_narrative")
        grant(world, "share_identity", world.union_id)
        referral = refer(world, world.union_id, ["narrative", "identity", "contact"])
        rows = db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "referral")
        ).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.channel == "email"
        assert row.recipient == "intake@u-demo-kanto.demo.invalid"
        body = row.body or ""
        assert f"http://localhost/advisor/referrals/{referral.id}" in body
        case = case_of(world)
        for secret in (NARRATIVE, NAME, PHONE, EMPLOYER, case.reference, "WAGE", "passport"):
            assert secret not in body
        sent = app.extensions["grievance.channel"].sent
        assert any(outbox_id == row.id for outbox_id, *_ in sent)


def test_a_partner_that_asked_for_sms_gets_one_too(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        union = db.session.get(Partner, world.union_id)
        assert union is not None
        admin = caseworker(world)
        partners.set_sms_contact(admin, union, "+819055556666")
        commit()
        refer(world, world.union_id, [])
        channels = sorted(
            row.channel
            for row in db.session.scalars(
                select(OutboundMessage).where(OutboundMessage.purpose == "referral")
            )
        )
        assert channels == ["email", "sms"]


def test_answer_deadlines() -> None:
    # Friday 10:00 in Tokyo: three working days is Wednesday; P1 the same day.
    friday = datetime(2026, 11, 6, 10, 0, tzinfo=JST).astimezone(UTC)
    assert referrals.respond_by("P2", friday).astimezone(JST) == datetime(
        2026, 11, 11, 10, 0, tzinfo=JST
    )
    same_day = referrals.respond_by("P1", friday).astimezone(JST)
    assert (same_day.date(), same_day.hour, same_day.minute) == (
        friday.astimezone(JST).date(),
        23,
        59,
    )
    assert referrals.respond_by("P0", friday) > friday


def test_withdrawing_the_referral_resumes_the_case(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        referral = refer(world, world.union_id, [])
        referrals.withdraw_referral(caseworker(world), referral)
        commit()
        assert referral.status == "withdrawn"
        assert case_of(world).status == "in_progress"
        with pytest.raises(referrals.WrongReferralState):
            referrals.withdraw_referral(caseworker(world), referral)


def overdue(world, now: datetime) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return [(item.kind, item.referral_id) for item in referrals.due_items(now)]


def test_overdue_answers_check_ins_and_questions_are_listed(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        referral = refer(world, world.union_id, [])
        now = utcnow()
        assert overdue(world, now) == []
        assert referral.respond_by is not None
        late = now + timedelta(days=6)
        assert ("partner_answer", referral.id) in overdue(world, late)
        assert ("worker_check_in", None) in overdue(world, now + timedelta(days=8))
        # The advisor accepts and asks a question: due a working day later.
        union_advisor = advisor("union@example.org")
        referrals.accept_referral(union_advisor, referral.id)
        referrals.ask_caseworker(union_advisor, referral.id, "Which prefecture office?")
        commit()
        items = overdue(world, now + timedelta(days=4))
        assert ("advisor_question", referral.id) in items
        assert ("partner_answer", referral.id) not in items
        referrals.answer_advisor(caseworker(world), referral, "Tokyo.")
        commit()
        assert ("advisor_question", referral.id) not in overdue(world, now + timedelta(days=4))
        assert referrals.overdue_case_ids([world.case_id], now + timedelta(days=8)) == {
            world.case_id
        }
        assert referrals.overdue_case_ids([world.case_id], now) == set()


def test_a_check_in_schedules_the_next_one_in_14_days(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        refer(world, world.union_id, [])
        count = len(case_of(world).messages)
        clock = referrals.record_check_in(caseworker(world), case_of(world), send_message=True)
        commit()
        assert clock is not None
        due = clock.due_at if clock.due_at.tzinfo else clock.due_at.replace(tzinfo=UTC)
        assert timedelta(days=13, hours=23) < due - utcnow() <= timedelta(days=14)
        open_clocks = [c for c in case_of(world).clocks if c.done_at is None]
        assert len(open_clocks) == 1
        assert len(case_of(world).messages) == count + 1
        assert case_of(world).messages[-1].direction == "out"


def test_each_overdue_partner_is_reminded_once(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        referral = refer(world, world.union_id, [])
        later = utcnow() + timedelta(days=10)
        assert referrals.remind_overdue_partners(later) == 1
        commit()
        assert referrals.remind_overdue_partners(later) == 0
        assert referral.reminded_at is not None
        reminders = db.session.query(OutboundMessage).filter_by(purpose="referral").count()
        assert reminders == 2  # the offer and one reminder


def test_suggestions_for_the_case_come_from_the_directory(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case = case_of(world)
        found = referrals.suggestions(case, [c.code for c in case.categories])
        codes = [s.partner.code for s in found]
        assert "U-DEMO-KANTO" in codes
        assert "G-OTIT" in codes  # a Tokyo intern with a passport held
        refer(world, world.union_id, [])
        case = case_of(world)
        again = referrals.suggestions(case, [c.code for c in case.categories])
        kanto = next(s for s in again if s.partner.code == "U-DEMO-KANTO")
        assert kanto.has_warning("already_referred")


def test_referral_rows_hold_no_personal_data(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "share_narrative")
        refer(world, world.union_id, ["narrative"])
        row = db.session.execute(select(Referral.__table__)).mappings().one()
        flat = " ".join(str(v) for v in row.values())
        assert NARRATIVE not in flat and NAME not in flat


def aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_the_queue_due_time_follows_the_referral_clocks(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        referral = refer(world, world.union_id, [])
        case = case_of(world)
        # The partner's answer is the next thing due, so the queue shows it.
        assert aware(case.due_at) == aware(referral.respond_by)
        referrals.accept_referral(advisor("union@example.org"), referral.id)
        commit()
        clock = next(c for c in case_of(world).clocks if c.done_at is None)
        # Answered: next is the worker's check-in, 7 days after the referral.
        assert aware(case_of(world).due_at) == aware(clock.due_at)
        referrals.record_check_in(caseworker(world), case_of(world), send_message=False)
        commit()
        following = next(c for c in case_of(world).clocks if c.done_at is None)
        assert aware(case_of(world).due_at) == aware(following.due_at)
        assert aware(following.due_at) - aware(clock.due_at) > timedelta(days=6)


def test_a_due_time_set_by_someone_else_is_left_alone(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        referral = refer(world, world.union_id, [])
        earlier = utcnow() - timedelta(hours=1)  # e.g. triage raised the urgency
        case_of(world).due_at = earlier
        commit()
        referrals.accept_referral(advisor("union@example.org"), referral.id)
        commit()
        assert abs(aware(case_of(world).due_at) - earlier) < timedelta(seconds=1)


def test_suggestions_are_ranked_once_per_kind_of_case_while_the_directory_is_kept(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grievance import reference_cache
    from grievance.cases import routing

    world = build(app)
    ranked: list[object] = []
    rank = routing.rank

    def counted(*args: object, **kwargs: object) -> list[routing.Suggestion]:
        ranked.append(args[0])
        return rank(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(routing, "rank", counted)
    with app.app_context():
        case = case_of(world)
        codes = [c.code for c in case.categories]
        first = referrals.suggestions(case, codes)
        assert [s.partner.code for s in referrals.suggestions(case, codes)] == [
            s.partner.code for s in first
        ]
        assert len(ranked) == 1
        # Another kind of case (other categories) is ranked for itself.
        referrals.suggestions(case, codes[:1] if len(codes) > 1 else [])
        assert len(ranked) == 2
        # A directory loaded anew (as after its time, or a change): ranked again.
        reference_cache.forget_one("partner-directory")
        referrals.suggestions(case, codes)
        assert len(ranked) == 3
        # Referred since: the case's own state is part of what is kept.
        refer(world, world.union_id, [])
        case = case_of(world)
        again = referrals.suggestions(case, codes)
        assert len(ranked) == 4
        assert next(s for s in again if s.partner.code == "U-DEMO-KANTO").has_warning(
            "already_referred"
        )

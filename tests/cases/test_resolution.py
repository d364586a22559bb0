"""Resolution: coded outcome, the worker told and surveyed, feedback, reopening."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text

from grievance.cases import referrals, resolution
from grievance.cases.models import CaseEvent, Message
from grievance.extensions import commit, db
from grievance.intake import feedback_text
from grievance.notify.models import OutboundMessage
from tests.cases.referral_helpers import World, build, case_of, caseworker


def resolve(world: World, outcome: str = "wages_recovered", **kwargs: object) -> None:
    kwargs.setdefault("amount_yen", 180000 if outcome == "wages_recovered" else None)
    resolution.resolve_case(caseworker(world), case_of(world), outcome, **kwargs)  # type: ignore[arg-type]
    commit()


def last_message_to_worker(world: World) -> Message:
    message = db.session.scalars(
        select(Message)
        .where(Message.case_id == world.case_id, Message.direction == "out")
        .order_by(Message.id.desc())
    ).first()
    assert message is not None
    return message


@pytest.mark.parametrize(
    ("outcome", "amount"),
    [("wages_recovered", None), ("wages_recovered", 0), ("apology", 5000), ("made_up", None)],
)
def test_outcome_codes_and_amounts_belong_together(
    app: Flask, outcome: str, amount: int | None
) -> None:
    world = build(app)
    with app.app_context(), pytest.raises(resolution.ResolutionError):
        resolution.resolve_case(caseworker(world), case_of(world), outcome, amount_yen=amount)


def test_resolving_records_tells_the_worker_and_asks_for_feedback(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        referral = referrals.create_referral(caseworker(world), case_of(world), world.union_id, [])
        commit()
        resolve(world, summary="CANARY-summary: paid by the employer", by_dialogue=True)
        case = case_of(world)
        assert case.status == "resolved"
        assert (case.outcome, case.outcome_amount_yen) == ("wages_recovered", 180000)
        assert case.resolved_by_dialogue is True and case.gag_clause is False
        assert case.resolved_at is not None and case.survey_sent_at is not None
        assert referral.status == "withdrawn"  # it was never answered
        assert all(c.done_at is not None for c in case.clocks)  # no more check-ins
        raw = db.session.execute(
            text("SELECT outcome_summary_ct FROM cases WHERE id = :id"), {"id": case.id}
        ).scalar_one()
        assert b"CANARY-summary" not in bytes(raw)
        assert case.outcome_summary == "CANARY-summary: paid by the employer"
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "case.resolved"))
        assert event is not None
        assert event.detail == {
            "outcome": "wages_recovered",
            "by_dialogue": True,
            "gag_clause": False,
        }
        # The worker texts by SMS: the outcome, the amount and the numbered survey.
        message = last_message_to_worker(world)
        body = message.body or ""
        assert feedback_text.outcome_words("vi", "wages_recovered", 180000) in body
        assert "180" in body
        assert feedback_text.survey_message("vi") in body
        assert "CANARY-summary" not in body
        rows = db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.message_id == message.id)
        ).all()
        assert rows and all(row.channel == "sms" for row in rows)


def test_a_web_worker_is_told_to_answer_on_the_follow_up_page(app: Flask) -> None:
    world = build(app, contact_method="web", contact=None, language="en")
    with app.app_context():
        resolve(world, "documents_returned")
        body = last_message_to_worker(world).body or ""
        assert "Your documents were given back." in body
        assert "follow-up page" in body
        assert db.session.query(OutboundMessage).filter_by(case_id=world.case_id).count() == 0


def test_english_texts_read_as_written(app: Flask) -> None:
    world = build(app, language="en")
    with app.app_context():
        resolve(world)
        body = last_message_to_worker(world).body or ""
        assert body.startswith("Your case is finished. Money owed to you was paid.")
        assert "¥180,000" in body
        assert "1) Was your problem solved? 1 = yes, 2 = partly, 3 = no" in body


def test_the_worker_sees_the_outcome_and_answers_the_survey(app: Flask) -> None:
    world = build(app, contact_method="web", contact=None)
    with app.app_context():
        assert resolution.worker_outcome(case_of(world)) is None
        resolve(world)
        seen = resolution.worker_outcome(case_of(world))
        assert seen is not None
        assert seen.survey_open and not seen.feedback_given and seen.can_reopen
        assert seen.words == feedback_text.outcome_words("vi", "wages_recovered", 180000)
        resolution.record_feedback(
            case_of(world),
            resolution.SurveyAnswers(
                solved="partly", felt_safe=True, recommend=True, comment="CANARY-comment"
            ),
            via="web",
        )
        commit()
        case = case_of(world)
        assert case.status == "closed" and case.closure_reason == "resolved"
        assert case.closed_at is not None
        assert (case.feedback_solved, case.feedback_felt_safe, case.feedback_recommend) == (
            "partly",
            True,
            True,
        )
        assert case.feedback_score == 2
        assert case.feedback_comment == "CANARY-comment"
        raw = db.session.execute(
            text("SELECT feedback_comment_ct FROM cases WHERE id = :id"), {"id": case.id}
        ).scalar_one()
        assert b"CANARY-comment" not in bytes(raw)
        after = resolution.worker_outcome(case)
        assert after is not None and after.feedback_given and not after.survey_open
        with pytest.raises(resolution.SurveyClosed):
            resolution.record_feedback(
                case,
                resolution.SurveyAnswers(solved="yes", felt_safe=True, recommend=True),
                via="web",
            )


def test_no_survey_before_resolution(app: Flask) -> None:
    world = build(app)
    with app.app_context(), pytest.raises(resolution.SurveyClosed):
        resolution.record_feedback(
            case_of(world),
            resolution.SurveyAnswers(solved="yes", felt_safe=True, recommend=True),
            via="web",
        )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("1 1 1", ("yes", True, True, "")),
        ("3,2,2 they still owe me", ("no", False, False, "they still owe me")),
        ("２ １ ２", ("partly", True, False, "")),
        ("1-1-2: thank you", ("yes", True, False, "thank you")),
    ],
)
def test_survey_replies_by_message(reply: str, expected: tuple[str, bool, bool, str]) -> None:
    answers = resolution.parse_survey_reply(reply)
    assert answers is not None
    assert (answers.solved, answers.felt_safe, answers.recommend, answers.comment) == expected


@pytest.mark.parametrize("reply", ["yes", "4 1 1", "1 3 1", "11", "", "thanks 1 1 1"])
def test_other_texts_are_not_survey_answers(reply: str) -> None:
    assert resolution.parse_survey_reply(reply) is None


def test_the_gateway_hands_survey_replies_over(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        assert not resolution.record_survey_reply(case_of(world), "1 1 1", via="sms")
        resolve(world, "apology")
        assert not resolution.record_survey_reply(case_of(world), "hello", via="sms")
        assert resolution.record_survey_reply(case_of(world), "1 1 1 thanks", via="sms")
        commit()
        case = case_of(world)
        assert case.feedback_score == 3 and case.status == "closed"
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "case.feedback"))
        assert event is not None and event.detail == {"via": "sms"}


def test_the_worker_can_ask_to_reopen(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        with pytest.raises(resolution.ResolutionError):
            resolution.request_reopen(case_of(world), via="web")
        resolve(world, "no_remedy")
        resolution.close_case(caseworker(world), case_of(world))
        commit()
        assert case_of(world).status == "closed"
        unread = case_of(world).unread_count
        resolution.request_reopen(case_of(world), via="web")
        commit()
        case = case_of(world)
        assert case.status == "in_progress"
        assert case.closed_at is None and case.reopen_requested_at is not None
        assert case.due_at is not None and case.unread_count == unread + 1
        event = db.session.scalar(
            select(CaseEvent).where(CaseEvent.kind == "case.reopen_requested")
        )
        assert event is not None and event.detail == {"via": "web"}
        # Resolved again, a new survey is asked.
        resolve(world, "apology")
        assert resolution.survey_open(case_of(world))


def test_a_new_case_cannot_be_resolved(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case_of(world).status = "new"
        commit()
        with pytest.raises(resolution.ResolutionError):
            resolve(world, "apology")


def test_only_a_resolved_case_is_closed_here(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        assert resolution.close_case(caseworker(world), case_of(world)) is False
        assert case_of(world).status == "acknowledged"

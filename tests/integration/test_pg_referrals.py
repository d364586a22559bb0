"""Referrals on PostgreSQL and Redis: the whole path, due items in SQL, partner
alerts through a real RQ worker with nothing personal in Redis."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from grievance.cases import consent, escalation, referrals, resolution
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.notify import dispatch
from grievance.notify.models import OutboundMessage, OutboxStatus
from tests.cases.referral_helpers import (
    NAME,
    NARRATIVE,
    PHONE,
    advisor,
    build,
    case_of,
    caseworker,
    grant,
)
from tests.integration.conftest import REDIS_URL


def test_referral_to_resolution_on_postgresql(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        grant(world, "share_narrative", world.union_id)
        grant(world, "share_identity", world.union_id)
        grant(world, "contact_employer")
        referral = referrals.create_referral(
            caseworker(world), case_of(world), world.union_id, ["narrative", "identity", "contact"]
        )
        commit()
        union = advisor("union@example.org")
        view = referrals.advisor_view(union, referral.id)
        assert view.narrative == NARRATIVE and view.identity["name"] == NAME
        referrals.accept_referral(union, referral.id)
        referrals.ask_caseworker(union, referral.id, "When can we call?")
        commit()
        soon = utcnow() + timedelta(days=8)
        kinds = {item.kind for item in referrals.due_items(soon)}
        assert kinds == {"advisor_question", "worker_check_in"}
        referrals.answer_advisor(caseworker(world), referral, "Evenings.")
        referrals.post_update(union, referral.id, "Letter sent.")
        referrals.record_referral_outcome(union, referral.id, "wages_recovered", amount_yen=90000)
        identity = consent.covering(case_of(world), "share_identity", world.union_id)
        assert identity is not None
        consent.withdraw_by_worker(case_of(world), identity.id)
        commit()
        view = referrals.advisor_view(union, referral.id)
        assert view.identity == {} and view.contact == {}
        item = escalation.create_escalation(
            caseworker(world), case_of(world), "jacer", company="CANARY Holdings"
        )
        escalation.update_escalation(caseworker(world), item, "submitted")
        resolution.resolve_case(
            caseworker(world), case_of(world), "wages_recovered", amount_yen=90000
        )
        resolution.record_feedback(
            case_of(world),
            resolution.SurveyAnswers(solved="yes", felt_safe=True, recommend=False),
            via="sms",
        )
        commit()
        case = case_of(world)
        assert case.status == "closed" and case.feedback_score == 2
        assert referrals.due_items(soon) == []


def test_partner_alerts_go_through_rq_with_ids_only(app: Flask, redis_conn: Redis) -> None:
    world = build(app)
    app.config["REDIS_URL"] = REDIS_URL
    app.extensions["grievance.runner"] = dispatch.RQRunner(REDIS_URL, 3600)
    with app.app_context():
        grant(world, "share_narrative", world.union_id)
        referral = referrals.create_referral(
            caseworker(world), case_of(world), world.union_id, ["narrative"]
        )
        commit()
        referral_id = referral.id
        rows = db.session.query(OutboundMessage).filter_by(purpose="referral").all()
        assert [row.status for row in rows] == [OutboxStatus.PENDING]
        row_id = rows[0].id
    jobs = [
        job
        for name in dispatch.QUEUE_NAMES
        for job in Queue(name, connection=redis_conn, serializer=JSONSerializer).get_jobs()
    ]
    assert [list(job.args) for job in jobs] == [[row_id]]
    for key in redis_conn.keys("*"):
        raw = redis_conn.dump(key) or b""
        for secret in (NARRATIVE, NAME, PHONE, "demo.invalid", "advisor/referrals"):
            assert secret.encode() not in raw
    queues = [
        Queue(n, connection=redis_conn, serializer=JSONSerializer) for n in dispatch.QUEUE_NAMES
    ]
    with app.app_context():
        SimpleWorker(queues, connection=redis_conn, serializer=JSONSerializer).work(burst=True)
        row = db.session.get(OutboundMessage, row_id)
        assert row is not None and row.status == OutboxStatus.SENT
        assert f"/advisor/referrals/{referral_id}" in (row.body or "")

"""Jobs through Redis and a real RQ SimpleWorker."""

from __future__ import annotations

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from grievance.extensions import commit, db
from grievance.notify import dispatch, outbox
from grievance.notify.models import OutboundMessage, OutboxStatus
from tests.conftest import make_case
from tests.integration.conftest import REDIS_URL


def _rq_app(app: Flask) -> None:
    app.config["REDIS_URL"] = REDIS_URL
    app.extensions["grievance.runner"] = dispatch.RQRunner(REDIS_URL, 3600)


def _work(app: Flask, conn: Redis) -> None:
    queues = [
        Queue(name, connection=conn, serializer=JSONSerializer) for name in dispatch.QUEUE_NAMES
    ]
    with app.app_context():
        SimpleWorker(queues, connection=conn, serializer=JSONSerializer).work(burst=True)


def test_outbox_job_runs_on_an_rq_worker(app: Flask, redis_conn: Redis) -> None:
    _rq_app(app)
    with app.app_context():
        case, _ = make_case()
        row = outbox.queue_message(
            channel="sms",
            recipient="+819011112222",
            body="CANARY-rq-body",
            purpose="reply",
            data_key=case.data_key,
            case_id=case.id,
        )
        row_id = row.id
        commit()
        assert db.session.get(OutboundMessage, row_id).status == OutboxStatus.PENDING
    queue = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    jobs = queue.get_jobs()
    assert len(jobs) == 1
    assert jobs[0].args == [row_id] or jobs[0].args == (row_id,)
    # Nothing in Redis carries the message text or the number.
    for key in redis_conn.keys("*"):
        kind = redis_conn.type(key)
        values = (
            [redis_conn.get(key)]
            if kind == b"string"
            else list(redis_conn.hgetall(key).values())
            if kind == b"hash"
            else redis_conn.lrange(key, 0, -1)
            if kind == b"list"
            else []
        )
        for value in values:
            assert b"CANARY" not in (value or b"") and b"11112222" not in (value or b"")
    _work(app, redis_conn)
    with app.app_context():
        stored = db.session.get(OutboundMessage, row_id)
        assert stored.status == OutboxStatus.SENT
    sent = app.extensions["grievance.channel"].sent
    assert [(s[0], s[3]) for s in sent] == [(row_id, "CANARY-rq-body")]


def test_sweeper_requeues_rows_left_pending(app: Flask, redis_conn: Redis) -> None:
    from datetime import timedelta

    from grievance.notify.jobs import requeue_stale

    _rq_app(app)
    with app.app_context():
        case, _ = make_case()
        row = outbox.queue_message(
            channel="sms",
            recipient="+819011112222",
            body="x",
            purpose="reply",
            data_key=case.data_key,
            case_id=case.id,
        )
        row_id = row.id
        commit()
    redis_conn.flushdb()  # the job was lost (as if Redis had restarted)
    with app.app_context():
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 1
    _work(app, redis_conn)
    with app.app_context():
        assert db.session.get(OutboundMessage, row_id).status == OutboxStatus.SENT


def test_web_reports_are_opened_by_an_rq_worker_once(app: Flask, redis_conn: Redis) -> None:
    """On PostgreSQL: the form's answer holds each report; an RQ worker
    opens the cases; a receipt used before the worker ran opens its case
    then, and the worker's job for it does nothing."""
    from sqlalchemy import func, select

    from grievance.cases.models import Case
    from grievance.cases.services import format_code
    from grievance.intake.models import HeldReport
    from tests.test_intake_web import open_follow_up, receipt_codes, submit

    _rq_app(app)
    client = app.test_client()
    receipts = [
        receipt_codes(submit(client, narrative=f"CANARY-held report {n}").data) for n in range(3)
    ]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
        assert db.session.scalar(select(func.count()).select_from(HeldReport)) == 3
    queue = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    # One run for the three: the first report woke it, the others found it
    # waiting.
    assert [job.func_name.rsplit(".", 1)[-1] for job in queue.get_jobs()] == ["open_held_reports"]
    assert open_follow_up(client, *receipts[0]).status_code == 303
    _work(app, redis_conn)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(HeldReport)) == 0
        opened = db.session.execute(select(Case.reference, Case.narrative_ct)).all()
        assert sorted(format_code(ref) for ref, _ct in opened) == sorted(r for r, _s in receipts)
        cases = db.session.scalars(select(Case).order_by(Case.id)).all()
        assert sorted(c.narrative for c in cases) == [f"CANARY-held report {n}" for n in range(3)]
    # The run cleared its flag when it started: the next report wakes another.
    receipts.append(receipt_codes(submit(client, narrative="CANARY-held report 3").data))
    assert [job.func_name.rsplit(".", 1)[-1] for job in queue.get_jobs()] == ["open_held_reports"]
    _work(app, redis_conn)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 4


def test_a_wake_sent_in_a_request_queues_its_run_when_the_request_ends(
    app: Flask, redis_conn: Redis
) -> None:
    """`dispatch.wake_soon` reads Redis's reply when the request ends, even
    one that failed after its commit: the run it needed is queued then."""
    import pytest

    _rq_app(app)
    queue = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    with pytest.raises(RuntimeError), app.test_request_context("/"):
        dispatch.wake_soon("open_held_reports")
        # Sent: the flag stands; the run is queued once the reply is read.
        assert redis_conn.exists("grievance:wake:open_held_reports")
        assert queue.get_jobs() == []
        raise RuntimeError("the page failed after the commit")
    assert [job.func_name.rsplit(".", 1)[-1] for job in queue.get_jobs()] == ["open_held_reports"]
    # The flag stands for that run: a second wake queues nothing more.
    with app.test_request_context("/"):
        dispatch.wake_soon("open_held_reports")
    assert len(queue.get_jobs()) == 1

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

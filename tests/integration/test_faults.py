"""Fault injection on the real services: Redis, RQ workers, PostgreSQL, Twilio.

Each test breaks one thing for real and checks the promise that matters to
a worker: a report is never lost, a message is sent once, a half-stored
webhook leaves nothing behind, and a message that cannot be delivered is
shown to the caseworker as failed.

Redis: these tests run their own throwaway redis-server on a loopback port
(FAULT_REDIS_PORT, else a free one) and really stop and start it; the shared
Redis server on this machine is never touched. Workers are real processes
started as production starts them (`flask grievance worker`, production
config); where a test needs a thousand jobs run, or steps through eight
attempts one at a time, RQ's SimpleWorker runs them as that worker does,
in a production-configured process or in this one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from config import TestingConfig
from grievance import crypto, pg_statements
from grievance.cases import services as case_services
from grievance.cases.models import Case, CaseEvent, Message
from grievance.extensions import db
from grievance.intake import held
from grievance.intake.models import InboundMessage
from grievance.notify import dispatch
from grievance.notify.jobs import backoff, requeue_stale
from grievance.notify.models import ContactRule, OutboundMessage, OutboxStatus
from tests.conftest import csrf_from, make_staff
from tests.fake_twilio import FakeTwilio
from tests.integration.conftest import PG_URL
from tests.integration.processes import (
    Processes,
    RedisServer,
    child_env,
    free_port,
    simple_worker_args,
    worker_args,
)

SID = "AC" + "9" * 32
TOKEN = TestingConfig.TWILIO_AUTH_TOKEN
PUBLIC = "https://grievance.example.org"
SMS_FROM = "+815011119999"
KEYS = json.dumps(crypto.KeyRing.generate().to_document())  # shared with the workers
ADMIN_DSN = PG_URL.replace("+psycopg", "")
REPORTS = 500


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    procs = Processes(tmp_path_factory.mktemp("fault-processes"))
    yield procs
    procs.close()


@pytest.fixture(scope="module")
def redis_server(processes: Processes) -> Iterator[RedisServer]:
    server = RedisServer(processes, int(os.environ.get("FAULT_REDIS_PORT") or free_port()))
    server.start()
    yield server
    if server.proc is not None:
        server.stop()


@pytest.fixture
def redis_conn(redis_server: RedisServer) -> Iterator[Redis]:
    if redis_server.proc is None:  # a failed test left it stopped
        redis_server.start()
    conn = redis_server.conn()
    conn.flushdb()
    yield conn
    conn.close()


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def app_overrides(fake_twilio: FakeTwilio, redis_server: RedisServer) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "GRIEVANCE_KEYS": KEYS,
        "JOB_RUNNER": "rq",
        "REDIS_URL": redis_server.url(),
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_SMS_FROM": SMS_FROM,
        "TWILIO_API_BASE": fake_twilio.base_url,
        "PUBLIC_BASE_URL": PUBLIC,
    }


def worker_env(fake: FakeTwilio, redis_url: str) -> dict[str, str]:
    """A worker configured as in production, against this test's servers."""
    return child_env(
        GRIEVANCE_ENV="production",
        SECRET_KEY="fault-injection-secret",
        GRIEVANCE_KEYS=KEYS,
        DATABASE_URL=PG_URL,
        REDIS_URL=redis_url,
        MESSAGING_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_SMS_FROM=SMS_FROM,
        TWILIO_API_BASE=fake.base_url,
        PUBLIC_BASE_URL=PUBLIC,
    )


def phone(n: int) -> str:
    return f"+8190{50000000 + n}"


def file_report(client: FlaskClient, number: str, address: str) -> tuple[str, str]:
    """A web report asking for SMS contact; returns the receipt (reference, secret)."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/vi/report", environ_base=environ)
    assert page.status_code == 200
    response = client.post(
        "/vi/report",
        data={
            "csrf_token": csrf_from(page.data),
            "danger": "no",
            "narrative": "Công ty không trả lương hai tháng.",
            "contact_method": "sms",
            "phone": number,
            "own_phone": "own",
            "consent_store": "y",
        },
        environ_base=environ,
    )
    assert response.status_code == 200, response.status_code
    codes = re.findall(r"<code>([^<]+)</code>", response.data.decode())
    assert len(codes) == 2, "no receipt on the page"
    return codes[0], codes[1]


def outbox_rows() -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def queue(conn: Redis, name: str = "urgent") -> Queue:
    return Queue(name, connection=conn, serializer=JSONSerializer)


def file_opened_report(app: Flask, conn: Redis, number: str, address: str) -> tuple[str, str]:
    """A web report whose case is open: its job is taken out of the queue and
    done here, as a worker would, so the test starts from the case and its
    acknowledgement waiting in the queue."""
    receipt = file_report(app.test_client(), number, address)
    for job_id in queue(conn).get_job_ids():
        job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
        if job.func_name.endswith("open_held_reports"):
            queue(conn).remove(job_id)
            with app.app_context():
                assert held.open_held_reports() == "opened 1"
    return receipt


# -- Redis stopped during 500 web reports ---------------------------------------------


def test_reports_filed_while_redis_is_down_are_kept_and_acknowledged_once(
    app: Flask,
    redis_conn: Redis,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    processes: Processes,
) -> None:
    def report(n: int) -> tuple[str, str]:
        # A different client address per report: the report rate limit
        # (per address) is not what this test is about.
        return file_report(app.test_client(), phone(n), f"10.9.{n // 250}.{n % 250 + 1}")

    up_first = 10
    receipts = [report(n) for n in range(up_first)]
    # One run of the job is queued for all of them (it has not started).
    assert len(queue(redis_conn).get_job_ids()) == 1
    # Redis stops in the middle of the intake; it keeps nothing on disk, so
    # the jobs of the first reports die with it. Reports keep coming, from
    # several people at once.
    redis_server.stop()
    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts += pool.map(report, range(up_first, REPORTS))

    # Every report was stored and answered with its own receipt ...
    assert len(set(receipts)) == REPORTS
    with app.app_context():
        # ... held for the job that opens its case. Those jobs died with
        # Redis or were never queued: the periodic round opens the reports.
        later = datetime.now(UTC) + 2 * held.LEFT_OVER_AFTER
        assert held.open_left_over(now=later, limit=REPORTS) == REPORTS
        opened = {case_services.find_by_receipt(ref, secret) for ref, secret in receipts}
        assert None not in opened and len(opened) == REPORTS
        # ... and each acknowledgement waits in the outbox.
        rows = outbox_rows()
        assert len(rows) == REPORTS
        assert {r.status for r in rows} == {OutboxStatus.PENDING}
        assert {r.purpose for r in rows} == {"receipt"}
    assert fake_twilio.messages == []

    # Redis is back, empty. The sweeper re-enqueues every pending row; a
    # second sweep racing it enqueues them all again.
    redis_server.start()
    with app.app_context():
        assert requeue_stale(older_than=timedelta(seconds=-1)) == REPORTS
        assert requeue_stale(older_than=timedelta(seconds=-1)) == REPORTS
    assert len(queue(redis_conn).get_job_ids()) == 2 * REPORTS

    # Two worker processes drain the queues side by side.
    env = worker_env(fake_twilio, redis_server.url())
    workers = [processes.start("worker", simple_worker_args(), env) for _ in range(2)]
    for worker in workers:
        assert processes.wait(worker, 240) == 0

    # Every acknowledgement was sent exactly once, to its own number.
    sent_to = sorted(m["To"] for m in fake_twilio.messages)
    assert sent_to == sorted(phone(n) for n in range(REPORTS))
    assert len({m["Body"] for m in fake_twilio.messages}) == 1
    with app.app_context():
        rows = outbox_rows()
        assert {r.status for r in rows} == {OutboxStatus.SENT}
        assert {r.provider_id for r in rows} == {m["_sid"] for m in fake_twilio.messages}
        assert {r.attempts for r in rows} == {1}
        # The case thread shows the delivery too (the worker process told it).
        statuses = db.session.scalars(
            select(Message.delivery_status).where(Message.direction == "out")
        ).all()
        assert len(statuses) == REPORTS and set(statuses) == {OutboxStatus.SENT}
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 0


# -- a worker killed with SIGKILL in the middle of a job -----------------------------


def bring_forward(conn: Redis, job_id: str, expected_delay: float) -> None:
    """Check RQ scheduled the job's retry after `expected_delay` seconds,
    then move it to now rather than wait."""
    scheduled = ScheduledJobRegistry(queue=queue(conn))
    assert job_id in scheduled.get_job_ids()
    delay = (scheduled.get_scheduled_time(job_id) - datetime.now(UTC)).total_seconds()
    assert expected_delay - 10 < delay <= expected_delay
    job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
    queue(conn).schedule_job(job, datetime.now(UTC) - timedelta(seconds=1))


def test_a_worker_killed_mid_job_loses_nothing_and_sends_once(
    app: Flask,
    redis_conn: Redis,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    processes: Processes,
) -> None:
    number = phone(7001)
    file_opened_report(app, redis_conn, number, "10.9.9.1")
    with app.app_context():
        [row] = outbox_rows()
        row_id = row.id
    [job_id] = queue(redis_conn).get_job_ids()

    # The worker takes the job and calls Twilio, which holds the request;
    # while it waits, the worker is killed (the machine or container goes).
    held = fake_twilio.hold_next()
    env = worker_env(fake_twilio, redis_server.url())
    worker = processes.start("worker", worker_args(burst=True), env)
    assert held.arrived.wait(60), "the worker never reached Twilio"
    assert processes.kill(worker) == -signal.SIGKILL
    held.release()
    assert held.done.wait(10) and held.dropped, "the fake should see the sender gone"

    assert fake_twilio.messages == []
    with app.app_context():
        [row] = outbox_rows()
        # Nothing of the interrupted attempt was committed.
        assert row.status == OutboxStatus.PENDING and row.attempts == 0

    # Nobody saw the job end: RQ still counts it as started (entries are
    # "job id:execution id") ...
    started = StartedJobRegistry(queue=queue(redis_conn))
    assert [e.split(":")[0] for e in started.get_job_ids(cleanup=False)] == [job_id]
    # ... until the next worker's maintenance finds the dead worker's
    # heartbeat expired (an hour on, here) and retries it.
    started.cleanup(time.time() + 3600)
    # The outbox sweeper also finds the row still pending and enqueues it.
    with app.app_context():
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 1
    bring_forward(redis_conn, job_id, dispatch.RETRY.intervals[0])

    # A new worker runs what is queued: the message goes out once.
    assert processes.wait(processes.start("worker", worker_args(burst=True), env), 120) == 0
    [sent] = fake_twilio.messages
    assert sent["To"] == number
    with app.app_context():
        [row] = outbox_rows()
        assert row.id == row_id and row.status == OutboxStatus.SENT
        assert row.provider_id == sent["_sid"] and row.attempts == 1
    retried = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    assert retried.get_status() == "finished" and retried.return_value() == "sent"


# -- the PostgreSQL connection dropped during a webhook ---------------------------------


@contextmanager
def connection_dropped_at(moment: str) -> Iterator[list[int]]:
    """Terminate this app's PostgreSQL backend from another connection at
    `moment`: just before a statement starting with it is sent, or just
    before the driver's first commit. Yields the ids of the backends
    terminated."""
    killed: list[int] = []

    def drop(dbapi_connection: Any) -> None:
        if killed:
            return
        pid = dbapi_connection.info.backend_pid
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            row = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
        assert row is not None and row[0], "the backend was not terminated"
        killed.append(pid)

    # At the driver: SQLAlchemy's execution and a short unit of work
    # (grievance.short_writes) both send through these.
    target: type
    name: str
    replacement: Callable[..., Any]
    if moment == "COMMIT":
        target, name = pg_statements.KeepingConnection, "commit"
        original_commit = target.commit

        def replacement(self: Any) -> None:
            drop(self)
            original_commit(self)

    else:
        target, name = pg_statements._TrackingCursor, "execute"
        original_execute = target.execute

        def replacement(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
            if isinstance(query, str) and query.lstrip().startswith(moment):
                drop(self.connection)
            return original_execute(self, query, params, **kwargs)

    original = target.__dict__[name]
    setattr(target, name, replacement)
    try:
        yield killed
    finally:
        setattr(target, name, original)


class SignedRequest:
    """One inbound SMS as Twilio sends it, signed; Twilio retries it unchanged."""

    def __init__(self, number: str, body: str, sid: str) -> None:
        self.params = {
            "MessageSid": sid,
            "AccountSid": SID,
            "From": number,
            "To": SMS_FROM,
            "Body": body,
            "FromCity": "CANARY-CITY",
        }
        url = PUBLIC + "/webhooks/twilio/messages"
        self.signature = RequestValidator(TOKEN).compute_signature(url, self.params)

    def post(self, client: FlaskClient) -> Any:
        return client.post(
            "/webhooks/twilio/messages",
            data=self.params,
            headers={"X-Twilio-Signature": self.signature},
        )


def thread_state(case_id: int) -> dict[str, Any]:
    db.session.expire_all()
    inbound = db.session.scalars(select(InboundMessage)).all()
    return {
        "inbound": [(m.processed_at is not None, m.body is not None) for m in inbound],
        "messages": db.session.scalars(
            select(Message).where(Message.case_id == case_id, Message.direction == "in")
        ).all(),
        "unread": db.session.scalar(select(Case.unread_count).where(Case.id == case_id)),
        "received_events": db.session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == "message.received")
        ),
        "last_inbound": db.session.scalars(select(ContactRule.last_inbound_at)).all(),
        "outbox": db.session.scalar(select(func.count()).select_from(OutboundMessage)),
    }


@pytest.mark.parametrize(
    ("moment", "status", "stored_before_retry"),
    [
        # Step one, storing the message: nothing is stored, 503.
        ("INSERT INTO inbound_messages", 503, []),
        # Step two, adding it to the case, is the job's, after the answer:
        # the message stays stored (sealed, unhandled) for a retry, and
        # nothing of the step is kept.
        ("INSERT INTO messages", 200, [(False, True)]),
    ],
    ids=["storing", "adding-to-case"],
)
def test_a_dropped_database_connection_fails_the_webhook_or_its_job_and_the_retry_stores_once(
    app: Flask,
    redis_conn: Redis,
    moment: str,
    status: int,
    stored_before_retry: list[tuple[bool, bool]],
) -> None:
    number = phone(8001)
    client = app.test_client()
    file_opened_report(app, redis_conn, number, "10.9.8.1")
    with app.app_context():
        case_id = db.session.scalar(select(Case.id))
        before = thread_state(case_id)
    assert before["messages"] == [] and before["unread"] == 0
    text = "Họ lại giữ hộ chiếu của tôi hôm nay."
    request = SignedRequest(number, text, "SM" + "f" * 32)

    with app.app_context(), connection_dropped_at(moment) as killed:
        response = request.post(client)
        work_once(app, redis_conn)  # a real worker runs what the request queued
    assert killed, "the connection was never dropped"
    assert response.status_code == status
    assert text.encode() not in response.data

    with app.app_context():
        after = thread_state(case_id)
    assert after["inbound"] == stored_before_retry
    assert after["messages"] == [] and after["unread"] == 0
    assert after["received_events"] == 0
    assert after["last_inbound"] == before["last_inbound"]
    assert after["outbox"] == before["outbox"]

    # Twilio retries the same signed request, then once more: one message.
    assert request.post(client).status_code == 200
    work_once(app, redis_conn)
    with app.app_context():
        handled = thread_state(case_id)
    assert request.post(client).status_code == 200
    work_once(app, redis_conn)
    with app.app_context():
        again = thread_state(case_id)
        [message] = handled["messages"]
        assert message.body == text
    assert handled["inbound"] == [(True, False)]  # handled, and the stored copy erased
    assert handled["unread"] == 1 and handled["received_events"] == 1
    assert all(at is not None for at in handled["last_inbound"])
    assert [m.id for m in again["messages"]] == [message.id]
    assert (again["unread"], again["received_events"], again["outbox"]) == (
        1,
        1,
        handled["outbox"],
    )


def test_a_connection_dropped_at_the_commit_after_the_webhook_stored_its_message_loses_nothing(
    app: Flask, redis_conn: Redis
) -> None:
    """On PostgreSQL the webhook stores its message in one statement that is
    its own transaction (grievance.pg_statements.alone): it is committed when
    its answer arrives. A connection lost at the session's commit after it
    loses nothing: the answer is 200, and Twilio's retry stores nothing new."""
    number = phone(8002)
    client = app.test_client()
    file_opened_report(app, redis_conn, number, "10.9.8.2")
    text = "Họ lại giữ hộ chiếu của tôi hôm nay."
    request = SignedRequest(number, text, "SM" + "e" * 32)
    with app.app_context(), connection_dropped_at("COMMIT") as killed:
        response = request.post(client)
    assert killed, "the connection was never dropped"
    assert response.status_code == 200
    with app.app_context():
        db.engine.dispose()  # the pool's connection is gone with its backend
        stored = thread_state(db.session.scalar(select(Case.id)))
    assert stored["inbound"] == [(False, True)]  # stored, sealed, waiting for the job
    assert request.post(client).status_code == 200  # the retry
    work_once(app, redis_conn)
    with app.app_context():
        handled = thread_state(db.session.scalar(select(Case.id)))
        [message] = handled["messages"]
        assert message.body == text
    assert handled["inbound"] == [(True, False)]
    assert handled["unread"] == 1 and handled["received_events"] == 1


# -- Twilio answering 500 and 429 ---------------------------------------------------


def work_once(app: Flask, conn: Redis) -> None:
    """A real RQ worker (in this process), with its scheduler, until the queues are empty."""
    queues = [queue(conn, name) for name in dispatch.QUEUE_NAMES]
    with app.app_context():
        SimpleWorker(queues, connection=conn, serializer=JSONSerializer).work(
            burst=True, with_scheduler=True
        )


def test_twilio_errors_are_retried_with_backoff_then_shown_as_failed(
    app: Flask, redis_conn: Redis, fake_twilio: FakeTwilio, client: FlaskClient, auth: Any
) -> None:
    max_attempts = app.config["OUTBOX_MAX_ATTEMPTS"]
    errors = [500, 429] * (max_attempts // 2)
    for status in errors:
        fake_twilio.fail_next(status)
    reference, _ = file_opened_report(app, redis_conn, phone(9001), "10.9.7.1")
    scheduled = ScheduledJobRegistry(queue=queue(redis_conn))
    retries_of_job = 0  # how often RQ has retried the job now in the queue

    for attempt, status in enumerate(errors, start=1):
        before = datetime.now(UTC)
        work_once(app, redis_conn)
        with app.app_context():
            [row] = outbox_rows()
        assert row.attempts == attempt and row.error_code == f"twilio-{status}"
        if attempt == max_attempts:
            break
        # Still pending, and the sweeper leaves it alone until its backoff is over.
        assert row.status == OutboxStatus.PENDING
        wait = (row.not_before - before).total_seconds()
        assert abs(wait - backoff(attempt).total_seconds()) < 10
        with app.app_context():
            assert requeue_stale(older_than=timedelta(seconds=-1)) == 0
        job_ids = scheduled.get_job_ids()
        if retries_of_job < dispatch.RETRY.max:
            # RQ retries the job itself, after its own growing interval,
            # which the test brings forward rather than wait for.
            [job_id] = job_ids
            delay = (scheduled.get_scheduled_time(job_id) - before).total_seconds()
            assert abs(delay - dispatch.RETRY.intervals[retries_of_job]) < 10
            retries_of_job += 1
            job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
            queue(redis_conn).schedule_job(job, datetime.now(UTC) - timedelta(seconds=1))
        else:
            # RQ's retries are spent: the sweeper takes over once the
            # backoff is over (brought forward here too), with a new job.
            assert job_ids == []
            retries_of_job = 0
            with app.app_context():
                db.session.execute(
                    update(OutboundMessage).values(
                        not_before=datetime.now(UTC) - timedelta(seconds=1)
                    )
                )
                db.session.commit()
                assert requeue_stale(older_than=timedelta(seconds=-1)) == 1

    # After the last attempt the row has failed for good, and nothing is
    # left to retry.
    assert row.status == OutboxStatus.FAILED
    assert fake_twilio.messages == [] and not fake_twilio.failures
    assert scheduled.get_job_ids() == []
    with app.app_context():
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 0
        message = db.session.scalar(select(Message).where(Message.direction == "out"))
        assert message is not None and message.delivery_status == OutboxStatus.FAILED
        user, secret = make_staff("caseworker")
        email = user.email

    # The caseworker sees the failed delivery on the case page (in English
    # here, so the test reads the words a caseworker reads).
    auth.login(email, secret)
    with client.session_transaction() as session:
        session["staff_lang"] = "en"
    page = client.get(f"/staff/cases/{reference}")
    assert page.status_code == 200
    html = page.data.decode()
    start = html.index('class="message out')
    article = re.sub(r"<[^>]+>", " ", html[start : html.index("</article>", start)])
    assert re.search(r"\bfail", article, re.IGNORECASE), article

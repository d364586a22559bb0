"""The gateway on the real servers: PostgreSQL, Redis and a real RQ worker process.

The worker is started the way production starts it (`flask grievance worker`,
GRIEVANCE_ENV=production) and sends through a local fake of Twilio's REST
API. "Redis stopped" is simulated by pointing the web side at a closed port
(the shared Redis server stays up for everyone else), then pointing it back
and running the sweeper.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from config import TestingConfig
from grievance import crypto
from grievance.cases.messaging import send_to_worker
from grievance.cases.models import Attachment, Case
from grievance.datakeys import DataKey
from grievance.extensions import commit, db
from grievance.intake.models import Conversation, InboundMessage
from grievance.notify import dispatch
from grievance.notify.jobs import requeue_stale
from grievance.notify.models import OutboundMessage, OutboxStatus
from tests.conftest import make_case
from tests.fake_twilio import FakeTwilio
from tests.integration.conftest import PG_URL, REDIS_URL, driver_statements

ROOT = Path(__file__).resolve().parents[2]
SID = "AC" + "2" * 32
TOKEN = TestingConfig.TWILIO_AUTH_TOKEN
PUBLIC = "https://grievance.example.org"
URL = PUBLIC + "/webhooks/twilio/messages"
KEYS = json.dumps(crypto.KeyRing.generate().to_document())
_sids = itertools.count(1)


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def app_overrides(fake_twilio: FakeTwilio) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "GRIEVANCE_KEYS": KEYS,  # shared with the worker process
        "REDIS_URL": REDIS_URL,
        "JOB_RUNNER": "rq",
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_SMS_FROM": "+815011112222",
        "TWILIO_WHATSAPP_FROM": "+815033334444",
        "TWILIO_API_BASE": fake_twilio.base_url,
        "PUBLIC_BASE_URL": PUBLIC,
    }


def run_worker(fake: FakeTwilio, processes: int = 1) -> str:
    """Real worker processes, as production runs them, until the queues are empty."""
    env = {
        **os.environ,
        "GRIEVANCE_ENV": "production",
        "SECRET_KEY": "integration-secret",
        "GRIEVANCE_KEYS": KEYS,
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_SMS_FROM": "+815011112222",
        "TWILIO_WHATSAPP_FROM": "+815033334444",
        "TWILIO_API_BASE": fake.base_url,
        "PUBLIC_BASE_URL": PUBLIC,
    }
    env.pop("GRIEVANCE_KEYS_FILE", None)
    flask = str(Path(sys.executable).with_name("flask"))
    workers = [
        subprocess.Popen(
            [flask, "--app", "wsgi", "grievance", "worker", "--burst"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(processes)
    ]
    output = ""
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, out[-2000:]
        output += out
    return output


def redis_dump(conn: Redis) -> bytes:
    """Every key and value in our Redis database, job payloads decompressed."""
    chunks: list[bytes] = []
    for key in conn.scan_iter("*"):
        chunks.append(key)
        kind = conn.type(key)
        if kind == b"string":
            values = [conn.get(key) or b""]
        elif kind == b"hash":
            values = [v for pair in conn.hgetall(key).items() for v in pair]
        elif kind == b"list":
            values = conn.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(conn.smembers(key))
        elif kind == b"zset":
            values = [m for m, _ in conn.zrange(key, 0, -1, withscores=True)]
        elif kind == b"stream":
            values = [v for _, fields in conn.xrange(key) for pair in fields.items() for v in pair]
        else:
            values = []
        for value in values:
            chunks.append(value)
            try:
                chunks.append(zlib.decompress(value))  # RQ compresses job data
            except zlib.error:
                pass
    return b"\n".join(chunks)


def _all_at_once(work: Callable[[int], None], count: int) -> None:
    """`work(0)` to `work(count - 1)`, each on its own thread; back when all are done."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Phone:
    def __init__(self, app: Flask, number: str, channel: str = "sms") -> None:
        self.client = app.test_client()
        self.number, self.channel = number, channel

    def params(self, body: str) -> dict[str, str]:
        prefix = "whatsapp:" if self.channel == "whatsapp" else ""
        return {
            "MessageSid": f"SM{next(_sids):032x}",
            "AccountSid": SID,
            "From": prefix + self.number,
            "To": prefix + "+815011112222",
            "Body": body,
        }

    def post(self, params: dict[str, str]) -> int:
        signature = RequestValidator(TOKEN).compute_signature(URL, params)
        response = self.client.post(
            "/webhooks/twilio/messages", data=params, headers={"X-Twilio-Signature": signature}
        )
        return response.status_code

    def send(self, body: str) -> None:
        assert self.post(self.params(body)) == 200


def test_conversation_replies_go_out_through_a_real_rq_worker(
    app: Flask, redis_conn: Redis, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    phone = Phone(app, "+819061234567", "sms")
    script = ["hello", "1", "1", "1", "1", "CANARY story of unpaid wages", "0", "1", "Aichi"]
    for body in script:
        phone.send(body)
    with app.app_context():
        # The requests only stored the messages and queued their handling.
        stored = db.session.scalars(select(InboundMessage)).all()
        assert len(stored) == len(script) and all(r.processed_at is None for r in stored)
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0

    # Redis holds ids only: no number, no text, in keys, job hashes or payloads.
    dump = redis_dump(redis_conn)
    assert dump, "the jobs should be in Redis"
    for needle in (b"61234567", b"CANARY", b"Aichi", "Tiếng".encode()):
        assert needle not in dump

    logs = run_worker(fake_twilio)

    with app.app_context():
        # The worker ran the conversation in order: the case, then the replies.
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1
        queued = db.session.scalar(select(func.count()).select_from(OutboundMessage))
    assert queued >= len(script)
    assert len(fake_twilio.messages) == queued
    assert {m["To"] for m in fake_twilio.messages} == {"+819061234567"}
    assert all(
        m["StatusCallback"] == PUBLIC + "/webhooks/twilio/status" for m in fake_twilio.messages
    )
    with app.app_context():
        db.session.expire_all()
        rows = db.session.scalars(select(OutboundMessage)).all()
        assert all(r.status == OutboxStatus.SENT for r in rows)
        assert {r.provider_id for r in rows} == {m["_sid"] for m in fake_twilio.messages}
    for text in [logs, caplog.text]:
        assert "61234567" not in text and "CANARY" not in text
    assert b"61234567" not in redis_dump(redis_conn)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_with_redis_down_200_messages_wait_and_are_sent_once_after_the_sweeper(
    app: Flask, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    down = f"redis://127.0.0.1:{_closed_port()}/3"
    app.config["REDIS_URL"] = down
    app.extensions["grievance.runner"] = dispatch.RQRunner(down, 3600)
    with app.app_context():
        for n in range(20):
            case, _ = make_case(contact_method="sms")
            case.contact = json.dumps({"phone": f"+8190{70000000 + n}"})
            for k in range(10):
                send_to_worker(case, f"Message {n}-{k}", None)
            commit()  # the enqueue after commit fails: Redis is "down"
        rows = db.session.scalars(select(OutboundMessage)).all()
        assert len(rows) == 200
        assert all(r.status == OutboxStatus.PENDING for r in rows)
    assert fake_twilio.messages == []
    assert redis_conn.dbsize() == 0

    # Redis is back: the sweeper re-enqueues, and two workers racing for
    # the rows send each message exactly once.
    app.config["REDIS_URL"] = REDIS_URL
    app.extensions["grievance.runner"] = dispatch.RQRunner(REDIS_URL, 3600)
    with app.app_context():
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 200
        # A second sweep before the worker ran (two sweepers racing) must
        # not lead to a second send either: enqueue a few rows twice.
        for outbox_id in db.session.scalars(select(OutboundMessage.id).limit(10)):
            dispatch.enqueue("deliver_outbound", outbox_id)
    run_worker(fake_twilio, processes=2)

    bodies = sorted(m["Body"] for m in fake_twilio.messages)
    assert bodies == sorted(f"Message {n}-{k}" for n in range(20) for k in range(10))
    with app.app_context():
        db.session.expire_all()
        assert all(
            r.status == OutboxStatus.SENT for r in db.session.scalars(select(OutboundMessage))
        )
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 0


def test_concurrent_redeliveries_store_one_message_and_answer_once(
    app: Flask, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    phone = Phone(app, "+819065432100", "whatsapp")
    params = phone.params("hello")
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def deliver(_n: int) -> None:
        client_phone = Phone(app, phone.number, phone.channel)
        barrier.wait()
        statuses.append(client_phone.post(params))

    _all_at_once(deliver, 12)
    assert statuses == [200] * 12
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1
    # Every delivery queued the handling; two workers run the twelve jobs.
    run_worker(fake_twilio, processes=2)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1
    assert len(fake_twilio.messages) == 1


def test_photos_for_an_open_case_are_fetched_by_a_real_rq_worker(
    app: Flask, redis_conn: Redis, fake_twilio: FakeTwilio
) -> None:
    """One photo sent while telling the story (it waits for the case), one
    sent to the open case: a real worker fetches both once the case is open."""
    from tests.test_intake_web import jpeg_with_gps

    phone = Phone(app, "+819061230000", "sms")
    for body in ["hello", "1", "1", "1", "1", "Story of unpaid wages"]:
        phone.send(body)
    early = phone.params("")
    early_photo = fake_twilio.add_media(jpeg_with_gps(), "image/jpeg")
    early.update(NumMedia="1", MediaUrl0=early_photo, MediaContentType0="image/jpeg")
    assert phone.post(early) == 200
    for body in ["0", "1", "Aichi"]:
        phone.send(body)
    photo = fake_twilio.add_media(jpeg_with_gps(), "image/jpeg")
    params = phone.params("My payslip")
    params.update(NumMedia="1", MediaUrl0=photo, MediaContentType0="image/jpeg")
    assert phone.post(params) == 200
    with app.app_context():
        assert db.session.scalars(select(Attachment)).all() == []  # not in the request
    # Redis holds the job's name, never the media addresses.
    dump = redis_dump(redis_conn)
    assert b"handle_waiting_inbound" in dump and b"/Media/" not in dump

    run_worker(fake_twilio)

    with app.app_context():
        stored = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
        assert [a.content_type for a in stored] == ["image/jpeg", "image/jpeg"]
        assert all(b"CANARY-CAMERA-MAKER" not in a.data for a in stored)
        # The early one belongs to the case, the later one to its message.
        assert sorted(a.message_id is None for a in stored) == [False, True]
        rows = db.session.scalars(
            select(InboundMessage).where(InboundMessage.media_count == 1)
        ).all()
        assert len(rows) == 2 and all(row.media_ct is None for row in rows)
    assert fake_twilio.media == {} and len(fake_twilio.deleted) == 2


def test_a_first_message_is_stored_with_its_conversation_in_one_statement(
    app: Flask, redis_conn: Redis
) -> None:
    phone = Phone(app, "+819061239999", "whatsapp")
    with driver_statements() as statements:
        phone.send("CANARY first words")
        first, statements[:] = list(statements), []
        phone.send("CANARY second words")
    # The conversation, its key and the message, at once; the next
    # message's statement finds the conversation there (nothing written) and
    # looks it up, then the message adds itself under the conversation's key.
    assert len(first) == 1 and first[0].startswith("WITH new_conversation AS")
    assert len(statements) == 2 and statements[0] == first[0]
    assert statements[1].startswith("INSERT INTO inbound_messages")
    with app.app_context():
        conversation = db.session.scalar(select(Conversation))
        assert conversation is not None
        assert conversation.address == "+819061239999"
        assert (conversation.channel, conversation.step, conversation.stopped) == (
            "whatsapp",
            "new",
            False,
        )
        rows = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [row.body for row in rows] == ["CANARY first words", "CANARY second words"]
        assert {row.conversation_id for row in rows} == {conversation.id}
        assert {row.data_key_id for row in rows} == {conversation.data_key_id}
        assert all(row.processed_at is None and row.media is None for row in rows)
    assert b"CANARY" not in redis_dump(redis_conn)


def test_first_messages_from_one_number_at_once_share_one_conversation(
    app: Flask, redis_conn: Redis
) -> None:
    """Eight different first messages from a new number, at the same moment:
    one conversation, each message stored once under its key (the losers of
    the race for the conversation store theirs on their second try)."""
    number = "+819061238888"
    with app.app_context():
        keys_before = db.session.scalar(select(func.count()).select_from(DataKey))
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def deliver(n: int) -> None:
        phone = Phone(app, number, "sms")
        params = phone.params(f"CANARY message {n}")
        barrier.wait()
        statuses.append(phone.post(params))

    _all_at_once(deliver, 8)
    assert statuses == [200] * 8
    with app.app_context():
        conversations = db.session.scalars(select(Conversation)).all()
        assert len(conversations) == 1
        rows = db.session.scalars(select(InboundMessage)).all()
        assert sorted(row.body for row in rows) == [f"CANARY message {n}" for n in range(8)]
        assert {row.conversation_id for row in rows} == {conversations[0].id}
        assert {row.data_key_id for row in rows} == {conversations[0].data_key_id}
        # The writes that lost the race left no key behind.
        keys = db.session.scalar(select(func.count()).select_from(DataKey))
        assert keys == keys_before + 1


def test_a_conversation_stored_by_another_request_meanwhile_is_found(
    app: Flask, redis_conn: Redis
) -> None:
    """The number's first conversation is written by another transaction
    while this message's statement runs: the statement waits for it, finds
    the number taken and (its snapshot older) no conversation; the message
    is then stored in that conversation, under its key."""
    from grievance.datakeys import utcnow
    from grievance.intake import gateway

    number = "+819061237777"
    with app.app_context():
        # The key and the conversation as a first message writes them, on a
        # connection of its own, not committed yet.
        index = crypto.blind_index(crypto.current_ring(), number, "phone")
        first = gateway.Inbound(provider_id="SM-other", channel="sms", sender=number, body="")
        values = gateway._first_values(first, number, index, utcnow())
        key_insert, conversation_insert, _message = gateway._first_message_statements()
        other = db.engine.connect()
        other.execute(key_insert, values)
        conversation_id = other.execute(conversation_insert, values).scalar_one()
    statuses: list[int] = []
    phone = Phone(app, number, "sms")
    sender = threading.Thread(target=lambda: statuses.append(phone.post(phone.params("CANARY x"))))
    sender.start()
    sender.join(0.5)
    assert sender.is_alive()  # waiting for the other transaction's conversation
    other.commit()
    other.close()
    sender.join(10)
    assert statuses == [200]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
        [row] = db.session.scalars(select(InboundMessage)).all()
        assert (row.conversation_id, row.data_key_id) == (conversation_id, values["key_id"])
        assert row.body == "CANARY x"

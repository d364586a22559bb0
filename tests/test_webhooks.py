"""The inbound webhook, end to end: signed requests as Twilio sends them.

Complete conversations in Vietnamese, Nepali (SMS), Indonesian and
Portuguese (WhatsApp) open cases; replies are checked to be in the worker's
language with a pseudo-translated catalog built from the gateway's own
gettext strings (the real translations come later). Also: forged requests,
replays, metadata, storage failures, STOP, the WhatsApp window and the
phone simulator.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator

from config import TestingConfig
from grievance import crypto, i18n
from grievance.cases import services as case_services
from grievance.cases.messaging import send_to_worker
from grievance.cases.models import Case, CaseEvent, Consent, Message
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.intake.models import Conversation, InboundMessage
from grievance.notify.models import ContactRule, OutboundMessage, OutboxStatus
from tests.conftest import QueuedRunner, make_case, timed_without_collector

TOKEN = TestingConfig.TWILIO_AUTH_TOKEN
URL = "http://localhost/webhooks/twilio/messages"
SOURCES = [
    Path(__file__).resolve().parent.parent / "grievance" / "intake" / name
    for name in ("sms_text.py", "labels.py")
]
PSEUDO = ("vi", "id", "ne", "pt_BR")
_sids = itertools.count(1)


def marker(catalog_code: str) -> str:
    return f"[{catalog_code}]"


@pytest.fixture(scope="session")
def pseudo_catalogs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Catalogs in which every gateway string reads "[vi] <English>" and so on."""
    root = tmp_path_factory.mktemp("translations")
    msgids: set[str] = set()
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    for source in SOURCES:
        for _lineno, message, _comments, _context in extract_from_file(
            "python", str(source), keywords=keywords
        ):
            msgids.add(message if isinstance(message, str) else message[0])
    for code in PSEUDO:
        catalog = Catalog(locale=code, domain="messages")
        for msgid in msgids:
            catalog.add(msgid, f"{marker(code)} {msgid}")
        folder = root / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / "messages.mo").open("wb") as fh:
            write_mo(fh, catalog)
    return root


@pytest.fixture
def app_overrides(pseudo_catalogs: Path) -> dict[str, Any]:
    return {
        "BABEL_TRANSLATION_DIRECTORIES": str(pseudo_catalogs),
        "WHATSAPP_TEMPLATE_SIDS": {"en": "HXen", "id": "HXid"},
    }


@pytest.fixture(autouse=True)
def _fresh_catalog_cache() -> Iterator[None]:
    # The worker domain caches loaded catalogs per language across apps.
    i18n.worker_domain._loaded.clear()
    yield
    i18n.worker_domain._loaded.clear()


def sign(params: dict[str, str], url: str = URL) -> str:
    return RequestValidator(TOKEN).compute_signature(url, params)


class Phone:
    """A worker's phone: sends signed webhooks like Twilio, reads the replies."""

    def __init__(self, app: Flask, client: FlaskClient, number: str, channel: str = "sms") -> None:
        self.app, self.client = app, client
        self.number, self.channel = number, channel
        self.seen: set[int] = set()
        self.sent: list[dict[str, str]] = []

    def params(self, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
        prefix = "whatsapp:" if self.channel == "whatsapp" else ""
        return {
            "MessageSid": sid or f"SM{next(_sids):032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": prefix + self.number,
            "To": prefix + "+815000000000",
            "Body": body,
            "NumMedia": "0",
            **extra,
        }

    def post(self, params: dict[str, str]):  # type: ignore[no-untyped-def]
        return self.client.post(URL, data=params, headers={"X-Twilio-Signature": sign(params)})

    def send(self, body: str, **extra: str) -> list[str]:
        params = self.params(body, **extra)
        self.sent.append(params)
        with timed_without_collector():
            started = time.monotonic()
            response = self.post(params)
            elapsed = time.monotonic() - started
        assert elapsed < 1.0, "the webhook must answer within a second"
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        return self.new_replies()

    def all_replies(self) -> list[OutboundMessage]:
        with self.app.app_context():
            index = crypto.phone_index(crypto.current_ring(), self.number)
            rows = db.session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.address_index == index)
                .order_by(OutboundMessage.id)
            ).all()
            for row in rows:
                row.text = row.body  # decrypt while the key is at hand
            return list(rows)

    def new_replies(self) -> list[str]:
        """What reached the phone since the last look (sent by the console channel)."""
        delivered = (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ)
        fresh = [r for r in self.all_replies() if r.id not in self.seen and r.status in delivered]
        self.seen.update(r.id for r in fresh)
        return [row.text for row in fresh]


def case_of(app: Flask, phone: Phone) -> Case | None:
    with app.app_context():
        index = crypto.phone_index(crypto.current_ring(), phone.number)
        conversation = db.session.scalar(
            select(Conversation).where(
                Conversation.sender_index == index, Conversation.channel == phone.channel
            )
        )
        if conversation is None or conversation.case_id is None:
            return None
        case = db.session.get(Case, conversation.case_id)
        case.narrative_text = case.narrative
        case.category_codes = sorted(c.code for c in case.categories)
        case.message_bodies = [m.body for m in case.messages]
        return case


CONVERSATIONS = [
    # (language code, menu number, channel, catalog, narrative in that language)
    (
        "vi",
        "1",
        "sms",
        "vi",
        ["Công ty không trả lương cho tôi hai tháng.", "Họ cũng giữ hộ chiếu của tôi."],
    ),
    (
        "ne",
        "4",
        "sms",
        "ne",
        ["मेरो कम्पनीले दुई महिनादेखि तलब दिएको छैन।", "उनीहरूले मेरो राहदानी पनि राखेका छन्।"],
    ),
    (
        "id",
        "5",
        "whatsapp",
        "id",
        ["Majikan saya tidak membayar gaji saya selama dua bulan.", "Paspor saya juga ditahan."],
    ),
    (
        "pt-BR",
        "7",
        "whatsapp",
        "pt_BR",
        ["A empresa não paga meu salário há dois meses.", "Também ficaram com meu passaporte."],
    ),
]


@pytest.mark.parametrize(("language", "number", "channel", "catalog", "story"), CONVERSATIONS)
def test_complete_conversation_opens_a_case_in_the_workers_language(
    app: Flask,
    client: FlaskClient,
    language: str,
    number: str,
    channel: str,
    catalog: str,
    story: list[str],
) -> None:
    phone = Phone(app, client, "+8190" + f"{random.randrange(10**8):08d}", channel)
    menu = phone.send("Hello")
    assert len(menu) >= 1
    menu_text = "\n".join(menu)
    for lang in i18n.LANGUAGES:
        assert lang.endonym in menu_text
    replies: list[str] = []
    replies += phone.send(number)  # language
    replies += phone.send("1")  # my own phone
    replies += phone.send("1")  # any time
    replies += phone.send("1")  # you may keep what I write
    for part in story:
        replies += phone.send(part)
    replies += phone.send("0")  # finished
    replies += phone.send("1 3")  # unpaid wages, passport taken
    replies += phone.send("Aichi")
    assert len(replies) >= 7
    mark = marker(catalog)
    others = [marker(c) for c in PSEUDO if c != catalog]
    for reply in replies:
        assert mark in reply, reply
        assert not any(other in reply for other in others)

    case = case_of(app, phone)
    assert case is not None
    assert case.language == language and case.channel == channel
    assert case.narrative_text == "Hello\n\n" + "\n\n".join(story)
    assert case.category_codes == ["DOC_RETAIN", "WAGE_UNPAID"]
    assert case.prefecture == "23"
    assert case.urgency == "P1"  # the most urgent default of the two categories
    with app.app_context():
        # The "1" to "may we keep what you write?", recorded as a consent.
        stored = db.session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
        assert [(c.scope, c.method) for c in stored] == [("store", "message_yes")]

    # The receipt carries a working reference and secret (the phone is the worker's own).
    receipt = replies[-1]
    reference = case_services.format_code(case.reference)
    assert reference in receipt
    with app.app_context():
        secret = next(
            word.strip(".")
            for line in receipt.splitlines()
            for word in line.split()
            if len(word.strip(".")) == 14 and word.count("-") == 2
        )
        assert case_services.find_by_receipt(reference, secret) is not None

    # A later message joins the case, unread for caseworkers; the reply is in language.
    later = phone.send("Hôm nay họ lại la mắng tôi." if language == "vi" else "More news")
    assert later and all(mark in r for r in later)
    case = case_of(app, phone)
    assert case.unread_count == 1 and case.message_bodies[-1].startswith(("Hôm", "More"))


def test_secret_is_not_sent_to_a_shared_phone(app: Flask, client: FlaskClient) -> None:
    phone = Phone(app, client, "+819011110000")
    for body in ("hi", "8", "2", "1", "1", "They do not pay", "0", "1", "0"):
        replies = phone.send(body)
    receipt = "\n".join(replies)
    case = case_of(app, phone)
    assert case_services.format_code(case.reference) in receipt
    assert "secret" not in receipt.lower()
    with app.app_context():
        stored = db.session.get(Case, case.id)
        assert json.loads(stored.contact)["own_phone"] == "shared"


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (InboundMessage, Conversation, Case, Message, OutboundMessage)
        }


# -- forged and replayed requests -------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        "no-signature",
        "wrong-token",
        "other-url",
        "altered-body",
        "extra-field",
        "empty-signature",
    ],
)
def test_forged_requests_get_403_and_store_nothing(
    app: Flask, client: FlaskClient, forge: str
) -> None:
    before = _counts(app)
    phone = Phone(app, client, "+819033334444")
    params = phone.params("hello")
    headers = {"X-Twilio-Signature": sign(params)}
    if forge == "no-signature":
        headers = {}
    elif forge == "wrong-token":
        headers["X-Twilio-Signature"] = RequestValidator("guess").compute_signature(URL, params)
    elif forge == "other-url":
        headers["X-Twilio-Signature"] = sign(params, "http://evil.example/webhooks/twilio/messages")
    elif forge == "altered-body":
        params["Body"] = "changed after signing"
    elif forge == "extra-field":
        params["FromCity"] = "Nagoya"
    elif forge == "empty-signature":
        headers["X-Twilio-Signature"] = ""
    response = client.post(URL, data=params, headers=headers)
    assert response.status_code == 403
    assert b"hello" not in response.data and b"33334444" not in response.data
    assert _counts(app) == before


def test_get_is_not_allowed(client: FlaskClient) -> None:
    assert client.get(URL).status_code == 405


def test_a_thousand_replayed_deliveries_create_no_duplicates(
    app: Flask, client: FlaskClient
) -> None:
    phone = Phone(app, client, "+819044445555", "whatsapp")
    script = ["hi", "5", "1", "1", "1", "Gaji saya belum dibayar.", "0", "1", "0", "Ada kabar?"]
    for body in script:
        phone.send(body)
    after_first = _counts(app)
    first_replies = [r.text for r in phone.all_replies()]
    assert after_first["cases"] == 1 and after_first["messages"] == 1
    assert after_first["inbound_messages"] == len(script)

    deliveries = [p for p in phone.sent for _ in range(1000 // len(script) + 1)][:1000]
    random.Random(4).shuffle(deliveries)
    bodies = set()
    for params in deliveries:
        response = phone.post(params)
        assert response.status_code == 200
        bodies.add(response.data)
    assert len(deliveries) == 1000
    assert len(bodies) == 1  # every redelivery answered as the first did
    assert _counts(app) == after_first
    assert [r.text for r in phone.all_replies()] == first_replies


def test_provider_metadata_is_dropped(app: Flask, client: FlaskClient) -> None:
    phone = Phone(app, client, "+819055556666")
    metadata = {
        "FromCity": "CANARYCITY",
        "FromState": "CANARYSTATE",
        "FromZip": "CANARYZIP",
        "FromCountry": "CANARYCOUNTRY",
        "ToCity": "CANARYTOCITY",
        "ToState": "CANARYTOSTATE",
        "ToZip": "CANARYTOZIP",
        "ToCountry": "CANARYTOCOUNTRY",
        "ProfileName": "CANARYNAME",
        "WaId": "CANARYWAID",
        "Latitude": "35.1",
        "Longitude": "136.9",
        "Address": "CANARYADDRESS",
    }
    for body in ("hi", "1", "1", "1", "1", "story", "0", "1", "0"):
        phone.send(body, **metadata)
    dump = _database_dump(app)
    assert "CANARY" not in dump
    assert "136.9" not in dump


def _database_dump(app: Flask) -> str:
    """Every value of every row of every table, as text (sealed columns as bytes)."""
    chunks: list[str] = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        chunks.append(bytes(value).decode("latin-1"))
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


def test_no_phone_number_in_the_database_in_clear(app: Flask, client: FlaskClient) -> None:
    phone = Phone(app, client, "+819066667777", "whatsapp")
    for body in ("hi", "8", "1", "1", "1", "story", "0", "1", "0", "more"):
        phone.send(body)
    dump = _database_dump(app)
    for form in ("819066667777", "09066667777", "90-6666-7777", "66667777"):
        assert form not in dump


def test_storage_failure_answers_5xx_so_twilio_retries(app: Flask, client: FlaskClient) -> None:
    phone = Phone(app, client, "+819077778888")
    params = phone.params("hello")
    with app.app_context():
        db.session.execute(text("DROP TABLE inbound_messages"))
        db.session.commit()
    response = phone.post(params)
    assert response.status_code == 503
    with app.app_context():
        db.create_all()
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
    # Twilio's retry of the same message is then stored and answered.
    assert phone.post(params).status_code == 200
    assert len(phone.new_replies()) == 1


def _last_step_fails(app: Flask, phone: Phone) -> dict[str, str]:
    """An intake up to its last answer, whose handling then fails (opening
    the case writes an audit event, and its table is away): the request.
    The message is stored and answered; the job's run that fails on it
    leaves it waiting."""
    for body in ("hi", "1", "1", "1", "1", "They keep my passport", "0", "3"):
        phone.send(body)
    final = phone.params("0")
    with app.app_context():
        db.session.execute(text("ALTER TABLE case_events RENAME TO case_events_away"))
        db.session.commit()
    assert phone.post(final).status_code == 200
    return final


def test_a_failure_after_storing_loses_nothing(app: Flask, client: FlaskClient) -> None:
    phone = Phone(app, client, "+819088889999")
    final = _last_step_fails(app, phone)
    with app.app_context():
        stored = db.session.scalar(
            select(InboundMessage).where(InboundMessage.provider_id == final["MessageSid"])
        )
        assert stored is not None and stored.processed_at is None  # kept, not handled
        db.session.execute(text("ALTER TABLE case_events_away RENAME TO case_events"))
        db.session.commit()
    # The next run (woken here by a redelivery; by any message, or the
    # periodic round) handles it.
    assert phone.post(final).status_code == 200
    case = case_of(app, phone)
    assert case is not None and case.narrative_text.endswith("They keep my passport")
    assert case.category_codes == ["DOC_RETAIN"]


def test_a_stored_message_left_unhandled_is_handled_by_the_periodic_round(
    app: Flask, client: FlaskClient
) -> None:
    """Twilio does not come back after an error answer unless told to: the
    message it stored is handled by the periodic round, in order, and one
    that still fails does not hold up the rest."""
    from grievance.intake import gateway
    from grievance.notify.jobs import run_periodic

    phone = Phone(app, client, "+819088887777")
    final = _last_step_fails(app, phone)
    with app.app_context():
        stored = db.session.scalar(
            select(InboundMessage).where(InboundMessage.provider_id == final["MessageSid"])
        )
        assert stored is not None and stored.processed_at is None
        assert gateway.left_over() == []  # not yet: the provider may still come back
        stored.received_at = utcnow() - gateway.LEFT_OVER_AFTER - timedelta(seconds=1)
        db.session.commit()
        # Still failing: the round goes on and leaves it for the next one.
        assert run_periodic()["inbound_left_over"] == 0
        db.session.execute(text("ALTER TABLE case_events_away RENAME TO case_events"))
        db.session.commit()
        assert run_periodic()["inbound_left_over"] == 1
        assert run_periodic()["inbound_left_over"] == 0
    case = case_of(app, phone)
    assert case is not None and case.narrative_text.endswith("They keep my passport")
    assert case.category_codes == ["DOC_RETAIN"]
    # Twilio's own retry, if it comes, changes nothing.
    assert phone.post(final).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_the_webhook_only_stores_and_the_job_keeps_the_order(
    app: Flask, client: FlaskClient
) -> None:
    """The request stores and wakes the job; nothing of the conversation runs
    in it. A later message handled first handles the earlier one first."""
    from grievance.intake import gateway

    runner = QueuedRunner()
    app.extensions["grievance.runner"] = runner
    phone = Phone(app, client, "+819066665555")
    for body in ("hi", "1"):  # a greeting, then Vietnamese from the menu
        assert phone.post(phone.params(body)).status_code == 200
    with app.app_context():
        stored = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [row.processed_at for row in stored] == [None, None]
        assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0
        # One run for both: the second found it waiting.
        assert runner.jobs == [("handle_waiting_inbound", ())]
        assert gateway.handle_in_order(stored[1].id) == 2
        assert gateway.handle_in_order(stored[0].id) == 0  # already handled, in order
        conversation = db.session.scalar(select(Conversation))
        assert conversation.language == "vi"
        replies = [
            row.body
            for row in db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        ]
    # The menu of languages answered the greeting; the choice got the next question.
    assert len(replies) == 2
    assert "Tiếng Việt" in replies[0]
    assert replies[1].startswith("[vi] Is this phone only yours?")


def test_one_run_handles_every_sender_waiting_and_goes_past_a_failure(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grievance.intake import gateway

    runner = QueuedRunner()
    app.extensions["grievance.runner"] = runner
    phones = [Phone(app, client, f"+81906666{n:04d}") for n in range(3)]
    for n, phone in enumerate(phones):
        for body in ("hi FAIL" if n == 1 else "hi", "1"):
            assert phone.post(phone.params(body)).status_code == 200
    assert runner.jobs == [("handle_waiting_inbound", ())]
    monkeypatch.setattr(gateway, "BATCH", 2)  # read two at a time
    receive = gateway.dialog.receive
    failing = phones[1].number

    def fails_for_one_sender(state: object, text: str, *args: object) -> object:
        if "FAIL" in text:
            raise RuntimeError("a fault in the conversation")
        return receive(state, text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(gateway.dialog, "receive", fails_for_one_sender)
    with app.app_context():
        # One run (then the replies' deliveries).
        assert runner.run_all().count("handle_waiting_inbound") == 1
        waiting = db.session.scalars(
            select(InboundMessage.conversation_id).where(InboundMessage.processed_at.is_(None))
        ).all()
        by_address = {c.id: c.address for c in db.session.scalars(select(Conversation))}
        # Both of the failing sender's messages wait (the second behind the
        # first); the others' were handled, in order.
        assert [by_address[c] for c in waiting] == [failing, failing]
        languages = {c.address: c.language for c in db.session.scalars(select(Conversation))}
        assert languages[phones[0].number] == languages[phones[2].number] == "vi"
        monkeypatch.setattr(gateway.dialog, "receive", receive)
        # Older than LEFT_OVER_FOR, a message is not tried again.
        later = utcnow() + gateway.LEFT_OVER_FOR + timedelta(minutes=1)
        assert gateway.handle_waiting(now=later) == "handled 0"
        assert gateway.handle_waiting() == "handled 2"


# -- STOP, START and safe contact -----------------------------------------------------


def _open_by_sms(
    app: Flask, client: FlaskClient, number: str, channel: str = "sms", hours: str = "1"
) -> Phone:
    phone = Phone(app, client, number, channel)
    for body in ("hi", "8", "1", hours, "1", "My story", "0", "1", "0"):
        phone.send(body)
    return phone


def test_stop_blocks_every_outbound_message_until_start(app: Flask, client: FlaskClient) -> None:
    phone = _open_by_sms(app, client, "+819012120000")
    assert phone.send("STOP") == []  # not even a confirmation
    assert phone.send("Are you there?") == []
    assert phone.send("HELP") == []
    case = case_of(app, phone)
    with app.app_context():
        message = send_to_worker(db.session.get(Case, case.id), "We can help.", None)
        commit()
        assert message.delivery_status == "stopped"
    assert phone.new_replies() == []
    case = case_of(app, phone)
    assert "Are you there?" in case.message_bodies  # still joins the case

    assert phone.send("START") != []
    with app.app_context():
        send_to_worker(db.session.get(Case, case.id), "We can help.", None)
        commit()
    assert phone.new_replies() == ["We can help."]


def test_stop_cancels_messages_that_were_waiting(app: Flask, client: FlaskClient) -> None:
    app.config["RECENT_INBOUND_SECONDS"] = 0
    jst_hour = datetime.now(UTC).astimezone(i18n_jst()).hour
    # Pick a window the current hour is not in, so the message waits.
    choice = "2" if not 6 <= jst_hour < 12 else "4"
    phone = _open_by_sms(app, client, "+819013130000", hours=choice)
    case = case_of(app, phone)
    with app.app_context():
        send_to_worker(db.session.get(Case, case.id), "Waiting message", None)
        commit()
        row = db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.message_id.is_not(None))
        ).one()
        assert row.status == OutboxStatus.PENDING and row.not_before is not None
    assert phone.new_replies() == []  # nothing outside the allowed hours
    phone.send("stop")
    with app.app_context():
        row = db.session.get(OutboundMessage, row.id)
        assert row.status == OutboxStatus.CANCELLED and row.error_code == "stopped"
        message = db.session.get(Message, row.message_id)
        assert message.delivery_status == "cancelled"


def i18n_jst():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Tokyo")


def test_never_write_first_keeps_replies_for_the_next_text(app: Flask, client: FlaskClient) -> None:
    phone = _open_by_sms(app, client, "+819014140000", hours="0")
    case = case_of(app, phone)
    assert case.contact_method == "web"
    with app.app_context():
        message = send_to_worker(db.session.get(Case, case.id), "Reply from us", None)
        commit()
        assert message.delivery_status == "waiting"
    assert phone.new_replies() == []
    replies = phone.send("Any news?")
    assert "Reply from us" in replies


# -- the WhatsApp window -----------------------------------------------------------------


def test_outside_the_window_a_template_invites_and_the_reply_releases(
    app: Flask, client: FlaskClient
) -> None:
    phone = Phone(app, client, "+819015150000", "whatsapp")
    for body in ("hi", "5", "1", "1", "1", "Gaji saya belum dibayar.", "0", "1", "0"):
        phone.send(body)
    case = case_of(app, phone)
    with app.app_context():
        rule = db.session.scalars(select(ContactRule)).one()
        rule.whatsapp_inbound_at = datetime.now(UTC) - timedelta(hours=25)
        rule.last_inbound_at = rule.whatsapp_inbound_at
        commit()
        first = send_to_worker(db.session.get(Case, case.id), "Jawaban pertama", None)
        second = send_to_worker(db.session.get(Case, case.id), "Jawaban kedua", None)
        commit()
        assert db.session.get(Message, first.id).delivery_status == "held"
        assert db.session.get(Message, second.id).delivery_status == "held"
    # One invitation (a template, in the worker's language), not the messages.
    invitation = phone.new_replies()
    assert len(invitation) == 1 and marker("id") in invitation[0]
    with app.app_context():
        invite = db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "window_invite")
        ).one()
        assert invite.status == OutboxStatus.SENT
    sent = app.extensions["grievance.channel"].sent
    assert sent[-1][0] == invite.id

    # The worker replies: the held messages go out first, in order.
    replies = phone.send("Ya")
    assert replies[:2] == ["Jawaban pertama", "Jawaban kedua"]
    assert len(replies) == 3 and marker("id") in replies[2]  # then the acknowledgement
    with app.app_context():
        assert db.session.get(Message, first.id).delivery_status == "sent"


def test_without_a_template_the_invitation_fails_visibly(app: Flask, client: FlaskClient) -> None:
    app.config["WHATSAPP_TEMPLATE_SIDS"] = {}
    phone = _open_by_sms(app, client, "+819016160000", channel="whatsapp")
    case = case_of(app, phone)
    with app.app_context():
        db.session.scalars(select(ContactRule)).one().whatsapp_inbound_at = None
        commit()
        send_to_worker(db.session.get(Case, case.id), "Hello", None)
        commit()
        invite = db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "window_invite")
        ).one()
        assert invite.status == OutboxStatus.FAILED and invite.error_code == "no-template"


# -- one case across the web and messaging -------------------------------------------------


def _web_case_linked_to(app: Flask, number: str, language: str) -> int:
    """A web report that gave `number` for SMS contact: its case's id."""
    from grievance.intake.web import link_phone

    with app.app_context():
        case, _ = make_case(language=language, contact_method="sms")
        link_phone(case, "sms", number, language)
        commit()
        return case.id


def test_a_web_report_continues_by_sms(app: Flask, client: FlaskClient) -> None:

    case_id = _web_case_linked_to(app, "+819017170000", "ne")
    phone = Phone(app, client, "+819017170000")
    replies = phone.send("नमस्ते, के भयो?")
    assert len(replies) == 1 and marker("ne") in replies[0]
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert [m.body for m in case.messages] == ["नमस्ते, के भयो?"]
        assert case.unread_count == 1 and case.last_worker_message_at is not None
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_an_sms_intake_begun_before_a_web_report_joins_that_report(
    app: Flask, client: FlaskClient
) -> None:
    """The worker starts by SMS, then sends the web form with the same phone:
    what they agreed to let us keep joins the web report, and their next SMS
    goes to it too, instead of being taken for an answer to the intake's
    question (which would open a second case)."""

    phone = Phone(app, client, "+819017180000")
    for body in ("hi", "8", "1", "1", "1", "My boss keeps my passport"):
        phone.send(body)
    case_id = _web_case_linked_to(app, phone.number, "en")
    replies = phone.send("It is about my report from the website")
    assert len(replies) == 1 and "We have received your message" in replies[0]
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert [m.body for m in case.messages] == [
            "hi\n\nMy boss keeps my passport",
            "It is about my report from the website",
        ]
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_web_report_from_a_phone_with_an_sms_case_takes_its_next_messages(
    app: Flask, client: FlaskClient
) -> None:
    """The conversation's state is sealed: linking the phone to the new case
    re-seals it under the new case's key, so the next message still reads."""

    phone = _open_by_sms(app, client, "+819017200000")
    first = case_of(app, phone)
    assert first is not None
    case_id = _web_case_linked_to(app, phone.number, "en")
    phone.send("About the second report")
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert [m.body for m in case.messages] == ["About the second report"]
        assert [m.body for m in db.session.get(Case, first.id).messages] == []


def test_an_sms_intake_without_the_yes_is_forgotten_when_a_web_report_links_the_phone(
    app: Flask, client: FlaskClient
) -> None:

    phone = Phone(app, client, "+819017190000")
    for body in ("My boss keeps my passport", "8", "1"):
        phone.send(body)
    case_id = _web_case_linked_to(app, phone.number, "en")
    phone.send("Hello")
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert [m.body for m in case.messages] == ["Hello"]


def test_zawgyi_burmese_is_stored_as_unicode(app: Flask, client: FlaskClient) -> None:
    phone = Phone(app, client, "+819018180000")
    for body in ("hi", "6", "1", "1", "1", "ကၽြန္ေတာ္ အလုပ္ရွင္က လစာမေပးပါ", "0", "1", "0"):
        phone.send(body)
    case = case_of(app, phone)
    assert case.language == "my"
    assert case.narrative_text.endswith("ကျွန်တော် အလုပ်ရှင်က လစာမပေးပါ")


# -- the phone simulator -----------------------------------------------------------------------


def test_phone_simulator_is_absent_under_testing(client: FlaskClient) -> None:
    assert client.get("/dev/phone").status_code == 404
    assert client.post("/dev/phone", data={"body": "x"}).status_code == 404


def test_phone_simulator_drives_the_real_webhook(app: Flask, client: FlaskClient) -> None:
    from tests.conftest import csrf_from

    app.config["DEV_PHONE"] = True
    page = client.get("/dev/phone")
    assert page.status_code == 200
    token = csrf_from(page.data)
    response = client.post(
        "/dev/phone",
        data={"csrf_token": token, "number": "+819019190000", "channel": "whatsapp", "body": "hi"},
    )
    assert response.status_code == 302
    assert "19190000" not in response.headers["Location"]
    page = client.get("/dev/phone")
    html = page.get_data(as_text=True)
    assert "Tiếng Việt" in html  # the language menu came back
    for lang in ("1", "1", "1", "1", "Story", "0", "1", "0"):
        client.post(
            "/dev/phone",
            data={
                "csrf_token": token,
                "number": "+819019190000",
                "channel": "whatsapp",
                "body": lang,
            },
        )
    html = client.get("/dev/phone").get_data(as_text=True)
    assert "[vi]" in html and "receipt" in html
    assert 'href="' not in html.split("19190000")[0][-200:]  # the number is never in a link
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_phone_simulator_needs_csrf(app: Flask, client: FlaskClient) -> None:
    app.config["DEV_PHONE"] = True
    response = client.post("/dev/phone", data={"number": "+819019190000", "body": "hi"})
    assert response.status_code == 400
    assert _counts(app)["inbound_messages"] == 0


def abandon_the_conversation() -> None:
    """The only conversation, as if its worker had gone quiet three hours ago."""
    conversation = db.session.scalars(select(Conversation)).one()
    state = json.loads(conversation.draft)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    state["last_at"] = long_ago.isoformat()
    conversation.draft = json.dumps(state)
    conversation.updated_at = long_ago
    commit()


def test_the_sweeper_opens_a_case_for_an_abandoned_conversation(
    app: Flask, client: FlaskClient
) -> None:
    from grievance.notify.jobs import run_periodic

    phone = Phone(app, client, "+819020200000")
    for body in ("hi", "8", "1", "1", "1", "They took my passport"):
        phone.send(body)
    assert case_of(app, phone) is None
    with app.app_context():
        abandon_the_conversation()
        assert run_periodic()["conversations"] == 1
    case = case_of(app, phone)
    assert case is not None and case.narrative_text == "hi\n\nThey took my passport"
    receipt = phone.new_replies()
    assert len(receipt) == 1 and case_services.format_code(case.reference) in receipt[0]


def test_contact_state_tells_the_caseworker_about_the_window(
    app: Flask, client: FlaskClient
) -> None:
    from grievance.cases.messaging import contact_state

    phone = _open_by_sms(app, client, "+819021210000", channel="whatsapp")
    case = case_of(app, phone)
    with app.app_context():
        state = contact_state(db.session.get(Case, case.id))
        assert state.window_open is True and state.held == 0 and not state.stopped
        db.session.scalars(select(ContactRule)).one().whatsapp_inbound_at = None
        send_to_worker(db.session.get(Case, case.id), "Hello", None)
        commit()
        state = contact_state(db.session.get(Case, case.id))
        assert state.window_open is False and state.held == 1


def test_yes_by_sms_answers_the_open_consent_question(app: Flask, client: FlaskClient) -> None:
    from grievance.cases import consent
    from grievance.cases.models import Consent, Partner
    from grievance.intake.web import link_phone
    from tests.conftest import make_staff

    with app.app_context():
        case, _ = make_case(language="vi", contact_method="sms")
        link_phone(case, "sms", "+819017171111", "vi")
        user, _secret = make_staff("caseworker")
        partner_id = db.session.scalar(select(Partner.id).where(Partner.code == "U-DEMO-KANTO"))
        consent.ask_consent(user, case, "share_narrative", partner_id=partner_id)
        commit()
        case_id = case.id
    Phone(app, client, "+819017171111").send("Có")
    with app.app_context():
        given = db.session.scalar(
            select(Consent).where(Consent.case_id == case_id, Consent.scope == "share_narrative")
        )
        assert given is not None and given.method == "message_yes"
        assert given.partner_id == partner_id
        # The YES stays in the thread as the evidence.
        assert db.session.get(Case, case_id).messages[-1].body == "Có"


def test_three_numbers_by_sms_answer_the_survey(app: Flask, client: FlaskClient) -> None:
    from grievance.cases import resolution
    from grievance.intake.web import link_phone
    from tests.conftest import make_staff

    with app.app_context():
        case, _ = make_case(language="id", contact_method="sms")
        link_phone(case, "sms", "+819017172222", "id")
        case.status = "in_progress"
        user, _secret = make_staff("caseworker")
        resolution.resolve_case(user, case, "documents_returned")
        commit()
        case_id = case.id
    Phone(app, client, "+819017172222").send("1 1 2 terima kasih")
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.feedback_solved == "yes" and case.feedback_felt_safe is True
        assert case.feedback_recommend is False
        assert case.feedback_comment == "terima kasih"


def test_photos_on_the_console_channel_are_not_kept_and_the_worker_is_told_where_to_add_them(
    app: Flask, client: FlaskClient
) -> None:
    phone = _open_by_sms(app, client, "+819012129999")
    case = case_of(app, phone)
    assert case is not None
    # Only the count is read: the media addresses are never fetched or stored.
    replies = phone.send(
        "Here is my payslip",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/SM1/Media/ME1",
        MediaContentType0="image/jpeg",
    )
    assert any("cannot receive photos or files here" in text for text in replies)
    later = phone.send("Thank you")
    assert not any("cannot receive photos" in text for text in later)
    with app.app_context():
        events = db.session.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "message.media_not_kept"
            )
        ).all()
        assert [e.detail for e in events] == [{"count": 2}]
        stored = db.session.scalars(
            select(InboundMessage).where(InboundMessage.media_count > 0)
        ).all()
        assert [row.media_count for row in stored] == [2]
    assert "api.twilio.com" not in _database_dump(app)


def test_the_timeline_says_how_many_photos_came(app: Flask) -> None:
    from grievance.cases import labels, timeline
    from grievance.i18n import set_language, staff_domain

    with app.test_request_context("/staff/queue"):
        set_language("en")
        staff_domain.as_default()
        assert labels.event_label("message.media_not_kept") == (
            "Photos or files sent by message (not kept)"
        )
        assert timeline.describe("message.media_not_kept", {"count": 2}, {}).startswith("2 sent")

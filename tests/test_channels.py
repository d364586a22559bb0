"""Outbound adapters against local fakes: Twilio's REST API and an SMTP server.

Also the delivery job's retry and failure rules, the status callback, and
the splitting of long texts for SMS (GSM-7 and UCS-2) and WhatsApp.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from config import TestingConfig
from grievance.cases.models import Attachment, Case, CaseEvent, Message
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.intake.models import InboundMessage
from grievance.notify import outbox, segments
from grievance.notify.channels import ChannelError, EmailChannel, TwilioChannel
from grievance.notify.jobs import deliver_outbound, requeue_stale
from grievance.notify.models import ContactRule, OutboundMessage, OutboxStatus
from tests.conftest import QueuedRunner, make_case
from tests.fake_smtp import FakeSMTP
from tests.fake_twilio import FakeTwilio

SID = "AC" + "1" * 32
NUMBER = "+819012345678"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(SID, TestingConfig.TWILIO_AUTH_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_smtp() -> Iterator[FakeSMTP]:
    fake = FakeSMTP().start()
    yield fake
    fake.stop()


@pytest.fixture
def app_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    if "fake_twilio" not in request.fixturenames:
        return {}
    fake: FakeTwilio = request.getfixturevalue("fake_twilio")
    overrides = {
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_SMS_FROM": "+815011112222",
        "TWILIO_WHATSAPP_FROM": "+815033334444",
        "TWILIO_API_BASE": fake.base_url,
        "TWILIO_TIMEOUT": 0.5,
        "PUBLIC_BASE_URL": "https://grievance.example.org",
        "WHATSAPP_TEMPLATE_SIDS": {"en": "HXen", "vi": "HXvi"},
    }
    if "fake_smtp" in request.fixturenames:
        smtp: FakeSMTP = request.getfixturevalue("fake_smtp")
        overrides.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_USE_TLS=False)
    return overrides


def _queue(channel: str = "sms", body: str = "Hello", **kwargs: Any) -> int:
    case, _ = make_case()
    row = outbox.queue_message(
        channel=channel,
        recipient=kwargs.pop("recipient", NUMBER),
        body=body,
        purpose=kwargs.pop("purpose", "reply"),
        data_key=case.data_key,
        case_id=case.id,
        **kwargs,
    )
    return row.id


# -- the Twilio adapter -----------------------------------------------------------


def test_sms_goes_to_twilio_with_a_status_callback(app: Flask, fake_twilio: FakeTwilio) -> None:
    with app.app_context():
        row_id = _queue(body="Your reference: ABCD")
        commit()
        row = db.session.get(OutboundMessage, row_id)
        assert row.status == OutboxStatus.SENT
        [sent] = fake_twilio.messages
        assert row.provider_id == sent["_sid"]
    assert sent["To"] == NUMBER and sent["From"] == "+815011112222"
    assert sent["Body"] == "Your reference: ABCD"
    assert sent["StatusCallback"] == "https://grievance.example.org/webhooks/twilio/status"


def test_whatsapp_uses_whatsapp_addresses(app: Flask, fake_twilio: FakeTwilio) -> None:
    with app.app_context():
        row_id = _queue(channel="whatsapp")
        rule = outbox.rule_for(db.session.get(OutboundMessage, row_id).address_index, create=True)
        rule.whatsapp_inbound_at = datetime.now(UTC)  # inside the 24-hour window
        commit()
    [sent] = fake_twilio.messages
    assert sent["To"] == f"whatsapp:{NUMBER}" and sent["From"] == "whatsapp:+815033334444"


@pytest.mark.parametrize(
    ("status", "code", "error", "retryable"),
    [
        (500, None, "twilio-500", True),
        (503, None, "twilio-503", True),
        (429, 20429, "twilio-429", True),
        (400, 21211, "invalid-number", False),
        (400, 21610, "unsubscribed", False),
        (400, 21614, "not-mobile", False),
        (400, 12345, "twilio-400", False),
    ],
)
def test_twilio_errors_are_classified(
    app: Flask, fake_twilio: FakeTwilio, status: int, code: int | None, error: str, retryable: bool
) -> None:
    fake_twilio.fail_next(status, code)
    with app.app_context():
        with pytest.raises(ChannelError) as caught:
            TwilioChannel(app).send(1, "sms", NUMBER, "x")
    assert caught.value.code == error and caught.value.retryable is retryable


def test_whatsapp_window_error_is_not_a_failure(app: Flask, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(400, 63016)
    with app.app_context(), pytest.raises(ChannelError) as caught:
        TwilioChannel(app).send(1, "whatsapp", NUMBER, "x")
    assert caught.value.window_closed and not caught.value.retryable


def test_a_hung_provider_times_out(app: Flask, fake_twilio: FakeTwilio) -> None:
    fake_twilio.stall_next(2.0)
    with app.app_context(), pytest.raises(ChannelError) as caught:
        TwilioChannel(app).send(1, "sms", NUMBER, "x")
    assert caught.value.code == "network" and caught.value.retryable


def test_unreachable_provider_is_transient(app: Flask, fake_twilio: FakeTwilio) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    app.config["TWILIO_API_BASE"] = f"http://127.0.0.1:{closed_port}"
    with app.app_context(), pytest.raises(ChannelError) as caught:
        TwilioChannel(app).send(1, "sms", NUMBER, "x")
    assert caught.value.code == "network" and caught.value.retryable


def test_template_is_sent_by_content_sid(app: Flask, fake_twilio: FakeTwilio) -> None:
    with app.app_context():
        TwilioChannel(app).send(1, "whatsapp", NUMBER, "ignored", content_sid="HXvi")
    [sent] = fake_twilio.messages
    assert sent["ContentSid"] == "HXvi" and "Body" not in sent


def test_twilio_requests_leave_no_number_in_logs(
    app: Flask, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        _queue(body="CANARY text")
        commit()
    assert fake_twilio.messages
    for record in caplog.records:
        text = record.getMessage()
        assert "12345678" not in text and "CANARY" not in text


# -- the delivery job ----------------------------------------------------------------


def test_transient_failure_waits_with_backoff_then_sends(
    app: Flask, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(503)
    with app.app_context():
        row_id = _queue()
        commit()
        row = db.session.get(OutboundMessage, row_id)
        assert row.status == OutboxStatus.PENDING and row.attempts == 1
        assert row.error_code == "twilio-503"
        not_before = (
            row.not_before.replace(tzinfo=UTC) if row.not_before.tzinfo is None else row.not_before
        )
        assert not_before > datetime.now(UTC)
        # The sweeper leaves it alone until the backoff is over...
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 0
        row.not_before = datetime.now(UTC) - timedelta(seconds=1)
        commit()
        # ...then sends it once.
        assert requeue_stale(older_than=timedelta(seconds=-1)) == 1
        row = db.session.get(OutboundMessage, row_id)
        assert row.status == OutboxStatus.SENT and row.attempts == 2 and row.error_code is None
    assert len(fake_twilio.messages) == 1


def test_permanent_failure_stops_and_shows_on_the_message(
    app: Flask, fake_twilio: FakeTwilio
) -> None:
    from grievance.cases.messaging import send_to_worker

    fake_twilio.fail_next(400, 21211)
    with app.app_context():
        case, _ = make_case(contact_method="sms")
        case.contact = json.dumps({"phone": NUMBER})
        message = send_to_worker(case, "Hello", None)
        commit()
        row = db.session.scalars(db.select(OutboundMessage)).one()
        assert row.status == OutboxStatus.FAILED and row.error_code == "invalid-number"
        db.session.refresh(message)
        assert message.delivery_status == "failed"
        # Running the job again does not try again.
        assert deliver_outbound(row.id) == OutboxStatus.FAILED
    assert fake_twilio.messages == []


def test_retries_end_in_failure_after_the_maximum(app: Flask, fake_twilio: FakeTwilio) -> None:
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    fake_twilio.fail_next(500, times=3)
    with app.app_context():
        row_id = _queue()
        commit()
        for _ in range(2):
            deliver_outbound(row_id)
        row = db.session.get(OutboundMessage, row_id)
        assert row.status == OutboxStatus.FAILED and row.attempts == 3


# -- status callbacks -----------------------------------------------------------------


def _status(client: FlaskClient, sid: str, status: str, signed: bool = True, **extra: str):  # type: ignore[no-untyped-def]
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": SID, **extra}
    url = "https://grievance.example.org/webhooks/twilio/status"
    signature = RequestValidator(TestingConfig.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    headers = {"X-Twilio-Signature": signature if signed else "bad"}
    return client.post("/webhooks/twilio/status", data=params, headers=headers)


def test_status_callbacks_move_forward_only(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    with app.app_context():
        row_id = _queue()
        commit()
        sid = db.session.get(OutboundMessage, row_id).provider_id
    assert _status(client, sid, "delivered").status_code == 204
    for _ in range(3):  # repeated and late callbacks change nothing
        assert _status(client, sid, "delivered").status_code == 204
        assert _status(client, sid, "sent").status_code == 204
    with app.app_context():
        assert db.session.get(OutboundMessage, row_id).status == OutboxStatus.DELIVERED
    _status(client, sid, "read")
    with app.app_context():
        assert db.session.get(OutboundMessage, row_id).status == OutboxStatus.READ


def test_undelivered_callback_is_recorded_with_its_code(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    with app.app_context():
        row_id = _queue()
        commit()
        sid = db.session.get(OutboundMessage, row_id).provider_id
    _status(client, sid, "undelivered", ErrorCode="30005")
    with app.app_context():
        row = db.session.get(OutboundMessage, row_id)
        assert row.status == OutboxStatus.UNDELIVERED and row.error_code == "twilio-30005"


def test_unsigned_status_callback_is_refused(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    with app.app_context():
        row_id = _queue()
        commit()
        sid = db.session.get(OutboundMessage, row_id).provider_id
    assert _status(client, sid, "failed", signed=False).status_code == 403
    assert client.post("/webhooks/twilio/status", data={"MessageSid": sid}).status_code == 403
    with app.app_context():
        assert db.session.get(OutboundMessage, row_id).status == OutboxStatus.SENT


# -- e-mail ---------------------------------------------------------------------------


def test_email_goes_out_over_smtp(app: Flask, fake_twilio: FakeTwilio, fake_smtp: FakeSMTP) -> None:
    with app.app_context():
        case, _ = make_case()
        outbox.queue_email(
            recipient="worker@example.org",
            subject="New message",
            body="Please read our reply.",
            purpose="reply",
            data_key=case.data_key,
            case_id=case.id,
        )
        commit()
        row = db.session.scalars(db.select(OutboundMessage)).one()
        assert row.status == OutboxStatus.SENT
    [mail] = fake_smtp.messages
    assert mail.recipients == ["worker@example.org"]
    assert "Subject: New message" in mail.data and "Please read our reply." in mail.data


def test_refused_recipient_is_permanent(app: Flask, fake_smtp: FakeSMTP) -> None:
    fake_smtp.refuse_recipients = True
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=fake_smtp.port, MAIL_USE_TLS=False)
    with app.app_context(), pytest.raises(ChannelError) as caught:
        EmailChannel(app).send(1, "email", "nobody@example.org", "S\n\nT")
    assert caught.value.code == "invalid-address" and not caught.value.retryable


def test_unreachable_smtp_is_transient(app: Flask) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_USE_TLS=False)
    with app.app_context(), pytest.raises(ChannelError) as caught:
        EmailChannel(app).send(1, "email", "a@example.org", "S\n\nT")
    assert caught.value.retryable


# -- contact rules as pure functions of time ---------------------------------------------


def test_allowed_hours_and_the_next_allowed_time(app: Flask) -> None:
    evening = ContactRule(address_index="x", allowed_hours=[[18, 22]])
    jst_15h = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)  # 15:00 in Japan
    jst_19h = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)  # 19:00 in Japan
    with app.app_context():
        assert not outbox.may_send_now(evening, jst_15h)
        assert outbox.may_send_now(evening, jst_19h)
        assert outbox.next_allowed(evening, jst_15h) == datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
        # A worker who wrote five minutes ago is holding the phone.
        evening.last_inbound_at = jst_15h - timedelta(minutes=5)
        assert outbox.may_send_now(evening, jst_15h)
        night = ContactRule(address_index="y", allowed_hours=[[22, 30]])
        assert outbox.may_send_now(night, datetime(2026, 5, 1, 19, 0, tzinfo=UTC))  # 04:00 JST
        assert outbox.may_send_now(ContactRule(address_index="z"), jst_15h)


def test_whatsapp_window_is_24_hours_less_a_margin(app: Flask) -> None:
    now = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    with app.app_context():
        assert not outbox.window_open(None, now)
        rule = ContactRule(address_index="x", whatsapp_inbound_at=now - timedelta(hours=23))
        assert outbox.window_open(rule, now)
        rule.whatsapp_inbound_at = now - timedelta(hours=23, minutes=55)
        assert not outbox.window_open(rule, now)


# -- splitting -----------------------------------------------------------------------------


def test_short_texts_are_one_message() -> None:
    assert segments.split_text("Hello", "sms") == ["Hello"]
    assert segments.segment_count("a" * 160) == 1 and segments.segment_count("a" * 161) == 2
    assert segments.segment_count("ă" * 70) == 1 and segments.segment_count("ă" * 71) == 2


def test_gsm_extension_characters_count_double() -> None:
    assert segments.encoding("price: 10€ [net]") == "gsm7"
    assert segments.units("€[]") == 6
    assert segments.segment_count("€" * 80) == 1 and segments.segment_count("€" * 81) == 2


def test_long_gsm_text_splits_at_sentences_within_the_segment_budget() -> None:
    sentence = "We have received your message and will answer soon. "
    text = sentence * 20
    parts = segments.split_text(text, "sms", max_segments=2)
    assert len(parts) > 1
    for part in parts:
        assert segments.segment_count(part) <= 2
        assert part.endswith(".")
    assert " ".join(parts) == text.strip()


def test_ucs2_text_uses_the_smaller_budget_and_keeps_marks_with_letters() -> None:
    nepali = "हामीले तपाईंको सन्देश पाएका छौं। " * 15
    parts = segments.split_text(nepali, "sms", max_segments=2)
    assert segments.encoding(nepali) == "ucs2"
    assert all(segments.units(p, "ucs2") <= 134 for p in parts)
    assert "".join(parts).replace(" ", "") == nepali.replace(" ", "")
    # No part starts with a combining vowel sign.
    assert all(not segments._is_mark(p[0]) for p in parts)


def test_a_word_longer_than_a_message_is_cut_safely() -> None:
    parts = segments.split_text("x" * 400, "sms", max_segments=1)
    assert [len(p) for p in parts] == [160, 160, 80]


def test_emoji_count_as_two_ucs2_units() -> None:
    assert segments.units("😀", "ucs2") == 2
    parts = segments.split_text("😀" * 40, "sms", max_segments=1)
    assert [len(p) for p in parts] == [35, 5]


def test_whatsapp_splits_only_past_its_limit_and_email_never() -> None:
    assert segments.split_text("a " * 700, "whatsapp") == [("a " * 700).strip()]
    assert len(segments.split_text("word " * 500, "whatsapp")) == 2
    assert segments.split_text("x" * 10000, "email") == ["x" * 10000]


def test_a_receipt_is_erased_once_sent(app: Flask, fake_twilio: FakeTwilio) -> None:
    with app.app_context():
        receipt_id = _queue(body="Your secret code: ABCD-EFGH-JKLM", purpose="receipt")
        reply_id = _queue(body="Thank you.", purpose="dialog")
        commit()
        receipt = db.session.get(OutboundMessage, receipt_id)
        assert receipt.status == OutboxStatus.SENT and receipt.body_ct is None
        assert db.session.get(OutboundMessage, reply_id).body == "Thank you."
    assert fake_twilio.messages[0]["Body"] == "Your secret code: ABCD-EFGH-JKLM"


# -- photos sent by SMS or WhatsApp -----------------------------------------------------


def _inbound(client: FlaskClient, body: str, media: list[str], number: str = NUMBER) -> None:
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": SID,
        "From": number,
        "To": "+815011112222",
        "Body": body,
        "NumMedia": str(len(media)),
    }
    for i, url in enumerate(media):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = "image/jpeg"
    url = "https://grievance.example.org/webhooks/twilio/messages"
    signature = RequestValidator(TestingConfig.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    response = client.post(
        "/webhooks/twilio/messages", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200


def _open_sms_case() -> int:
    from grievance.intake.web import link_phone

    case, _ = make_case(contact_method="sms", language="en")
    case.contact = json.dumps({"phone": NUMBER})
    link_phone(case, "sms", NUMBER, "en")
    commit()
    return case.id


def test_photos_sent_to_an_open_case_are_fetched_cleaned_and_deleted_at_twilio(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    from tests.test_intake_web import jpeg_with_gps

    with app.app_context():
        case_id = _open_sms_case()
    photo = fake_twilio.add_media(jpeg_with_gps(), "image/jpeg")
    voice = fake_twilio.add_media(b"OggS voice note", "audio/ogg")
    _inbound(client, "My payslip", [photo, voice])
    with app.app_context():
        stored = db.session.scalars(select(Attachment).where(Attachment.case_id == case_id)).all()
        assert [a.content_type for a in stored] == ["image/jpeg"]
        assert b"CANARY-CAMERA-MAKER" not in stored[0].data
        message = db.session.get(Message, stored[0].message_id)
        assert message is not None and message.body == "My payslip"
        refused = db.session.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == "message.media_not_kept"
            )
        ).all()
        assert [e.detail for e in refused] == [{"count": 1, "reason": "type"}]
        row = db.session.scalars(select(InboundMessage)).one()
        assert row.media_count == 2 and row.media_ct is None  # addresses erased
    # Both fetched with our credentials, then deleted at the provider.
    assert len(fake_twilio.fetched) == 2 and fake_twilio.media == {}
    assert len(fake_twilio.deleted) == 2


def test_only_our_own_media_addresses_are_fetched(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    with app.app_context():
        case_id = _open_sms_case()
    other_account = fake_twilio.add_media(b"\xff\xd8\xff", "image/jpeg").replace(
        SID, "AC" + "9" * 32
    )
    elsewhere = "http://127.0.0.1:1/2010-04-01/Accounts/" + SID + "/Messages/MM1/Media/ME1"
    _inbound(client, "Look", [other_account, elsewhere, "file:///etc/passwd"])
    assert fake_twilio.fetched == []
    with app.app_context():
        assert db.session.scalars(select(Attachment)).all() == []
        events = db.session.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == "message.media_not_kept"
            )
        ).all()
        assert [e.detail for e in events] == [{"count": 3}]
        notices = [r.body for r in db.session.scalars(select(OutboundMessage)) if r.body]
        assert any("cannot receive photos or files here" in b for b in notices)


def test_a_network_failure_leaves_the_photo_for_the_periodic_round(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    from grievance.intake import media

    with app.app_context():
        case_id = _open_sms_case()
    fake_twilio.media_failures.append(503)
    _inbound(client, "Photo", [fake_twilio.add_media(b"%PDF-1.4 x", "application/pdf")])
    with app.app_context():
        row = db.session.scalars(select(InboundMessage)).one()
        assert row.media is not None  # kept (sealed) for another try
        assert media.retry_waiting() == 0  # not yet: it waits RETRY_AFTER
        row.processed_at = utcnow() - media.RETRY_AFTER - timedelta(seconds=1)
        commit()
        assert media.retry_waiting() == 1
        db.session.expire_all()
        row = db.session.scalars(select(InboundMessage)).one()
        assert row.media is None
        # Not a PDF that opens: refused and counted, not attached.
        assert db.session.scalars(select(Attachment)).all() == []
        assert db.session.scalar(
            select(CaseEvent.detail).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == "message.media_not_kept"
            )
        ) == {"count": 1, "reason": "type"}
    assert len(fake_twilio.deleted) == 1


def test_photos_beyond_five_are_counted_and_a_lasting_failure_is_given_up(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    from grievance.intake import media
    from tests.test_intake_web import jpeg_with_gps

    with app.app_context():
        case_id = _open_sms_case()
    urls = [fake_twilio.add_media(jpeg_with_gps(), "image/jpeg") for _ in range(7)]
    _inbound(client, "Seven photos", urls)
    assert len(fake_twilio.fetched) == 5
    # The provider stays down for the next one, past the day we try for.
    fake_twilio.media_failures.extend([503] * 10)
    _inbound(client, "One more", [fake_twilio.add_media(jpeg_with_gps(), "image/jpeg")])
    with app.app_context():
        row = db.session.scalars(
            select(InboundMessage).where(InboundMessage.media_ct.is_not(None))
        ).one()
        row.processed_at = utcnow() - media.GIVE_UP_AFTER - timedelta(minutes=1)
        commit()
        assert media.retry_waiting() == 0
        details = db.session.scalars(
            select(CaseEvent.detail)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == "message.media_not_kept")
            .order_by(CaseEvent.id)
        ).all()
        assert details == [{"count": 2, "reason": "limit"}, {"count": 1, "reason": "fetch"}]
        assert len(db.session.scalars(select(Attachment)).all()) == 5
        assert (
            db.session.scalars(
                select(InboundMessage).where(InboundMessage.media_ct.is_not(None))
            ).all()
            == []
        )


# -- photos sent during the SMS intake, before there is a case ------------------------

INTAKE_NUMBER = "+819055550000"


def _intake_until_the_story(client: FlaskClient) -> None:
    # Hello, English (8), own phone, any time, and yes to keeping the report.
    for body in ("hi", "8", "1", "1", "1"):
        _inbound(client, body, [], INTAKE_NUMBER)


def _photo(client: FlaskClient, fake_twilio: FakeTwilio, body: str = "") -> None:
    """A JPEG (with a GPS tag) sent by the intake's number, captioned `body`."""
    from tests.test_intake_web import jpeg_with_gps

    _inbound(client, body, [fake_twilio.add_media(jpeg_with_gps(), "image/jpeg")], INTAKE_NUMBER)


def _waiting_rows() -> list[InboundMessage]:
    return list(
        db.session.scalars(select(InboundMessage).where(InboundMessage.media_ct.is_not(None)))
    )


def _case_of_intake() -> int | None:
    from grievance import crypto
    from grievance.intake.models import Conversation

    index = crypto.phone_index(crypto.current_ring(), INTAKE_NUMBER)
    return db.session.scalar(select(Conversation.case_id).where(Conversation.sender_index == index))


def test_photos_sent_while_telling_the_story_join_the_case_when_it_opens(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    from grievance.intake import media

    _intake_until_the_story(client)
    _photo(client, fake_twilio, "My payslip")
    # Nothing fetched yet: there is no case to put it in. The worker is told.
    assert fake_twilio.fetched == []
    assert "We will add your photos or files to your report." in fake_twilio.messages[-1]["Body"]
    with app.app_context():
        assert _case_of_intake() is None
        (row,) = _waiting_rows()
        # The periodic round leaves it alone, however long it waits for its case.
        row.processed_at = utcnow() - media.RETRY_AFTER - timedelta(minutes=1)
        commit()
        assert media.retry_waiting() == 0
        assert media.fetch_inbound_media(row.id) == "waiting"
        assert len(_waiting_rows()) == 1
    # Another photo: kept too, but the worker is told only once per story.
    _photo(client, fake_twilio)
    told = "We will add your photos or files to your report."
    assert sum(told in m["Body"] for m in fake_twilio.messages) == 1
    # The end of the story, a category, no prefecture: the case opens.
    for body in ("0", "1", "0"):
        _inbound(client, body, [], INTAKE_NUMBER)
    with app.app_context():
        case_id = _case_of_intake()
        assert case_id is not None
        attachments = db.session.scalars(select(Attachment)).all()
        assert [(a.case_id, a.message_id) for a in attachments] == [(case_id, None)] * 2
        assert all(b"CANARY-CAMERA-MAKER" not in a.data for a in attachments)
        assert _waiting_rows() == []
        case = db.session.get(Case, case_id)
        assert case is not None and "My payslip" in case.narrative
    assert len(fake_twilio.fetched) == 2 and fake_twilio.media == {}


def test_a_photo_stored_before_the_answer_that_opens_the_case_is_handled_stays_its_own(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    """On RQ a burst is stored before any of it is handled: a photo sent
    right after the last answer is not taken for one that waited for the
    case; its words and photo become its own message."""
    from grievance.cases.models import Message

    _intake_until_the_story(client)
    _inbound(client, "Not paid since March", [], INTAKE_NUMBER)
    runner = QueuedRunner()
    app.extensions["grievance.runner"] = runner
    # The end of the story, a category, no prefecture; then a photo.
    for body in ("0", "1", "0"):
        _inbound(client, body, [], INTAKE_NUMBER)
    _photo(client, fake_twilio, "My payslip")
    with app.app_context():
        assert _case_of_intake() is None
        runner.run_all()
        case_id = _case_of_intake()
        assert case_id is not None
        message = db.session.scalar(select(Message).where(Message.case_id == case_id))
        assert message is not None and message.body == "My payslip"
        attachments = db.session.scalars(select(Attachment)).all()
        assert [(a.case_id, a.message_id) for a in attachments] == [(case_id, message.id)]
        case = db.session.get(Case, case_id)
        assert case is not None and "My payslip" not in case.narrative
    assert len(fake_twilio.fetched) == 1 and fake_twilio.media == {}


def test_photos_of_an_abandoned_intake_join_the_case_the_sweeper_opens(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    from grievance.notify.jobs import run_periodic
    from tests.test_webhooks import abandon_the_conversation

    _intake_until_the_story(client)
    _photo(client, fake_twilio)
    _inbound(client, "They took my passport", [], INTAKE_NUMBER)
    with app.app_context():
        abandon_the_conversation()
        assert run_periodic()["conversations"] == 1
        case_id = _case_of_intake()
        assert case_id is not None
        assert [a.case_id for a in db.session.scalars(select(Attachment))] == [case_id]
        assert _waiting_rows() == []


def test_photos_before_the_worker_agrees_are_not_kept_and_the_worker_is_told(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:

    _photo(client, fake_twilio, "hi")
    # Never read, but deleted at Twilio: the photo does not stay there.
    assert fake_twilio.fetched == []
    assert len(fake_twilio.deleted) == 1 and fake_twilio.media == {}
    bodies = [m["Body"] for m in fake_twilio.messages]
    assert any("only after you agree that we keep what you send" in b for b in bodies)
    with app.app_context():
        assert _waiting_rows() == []
        (row,) = db.session.scalars(select(InboundMessage)).all()
        assert row.media_count == 1 and row.media_discard


def test_photos_of_a_story_started_again_with_new_are_forgotten_with_it(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:

    _intake_until_the_story(client)
    _photo(client, fake_twilio, "Wrong story")
    with app.app_context():
        assert len(_waiting_rows()) == 1
    _inbound(client, "NEW", [], INTAKE_NUMBER)
    with app.app_context():
        assert _waiting_rows() == []
    assert len(fake_twilio.deleted) == 1 and fake_twilio.media == {}
    for body in ("The right story", "0", "1", "0"):
        _inbound(client, body, [], INTAKE_NUMBER)
    with app.app_context():
        assert _case_of_intake() is not None
        assert db.session.scalars(select(Attachment)).all() == []
    assert fake_twilio.fetched == []


def test_photos_left_to_discard_are_deleted_by_the_periodic_round(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    """The job that deletes them did not run (Redis was down, say): the
    periodic round does it, and counts nothing on any timeline."""
    from grievance.intake import media
    from tests.test_intake_web import jpeg_with_gps

    with app.app_context():
        case_id = _open_sms_case()
    _inbound(client, "Look", [fake_twilio.add_media(jpeg_with_gps(), "image/jpeg")])
    with app.app_context():
        row = db.session.scalars(select(InboundMessage)).one()
        assert db.session.scalars(select(Attachment)).all() != []
        # As if it had come to be discarded and its job had been lost.
        row.media = json.dumps([fake_twilio.add_media(b"%PDF-1.4 x", "application/pdf")])
        row.media_discard = True
        row.processed_at = utcnow() - media.RETRY_AFTER - timedelta(seconds=1)
        commit()
        assert media.retry_waiting() == 1
        db.session.expire_all()
        assert db.session.get(InboundMessage, row.id).media_ct is None
        assert len(db.session.scalars(select(Attachment)).all()) == 1
        assert (
            db.session.scalar(
                select(CaseEvent.id).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == "message.media_not_kept"
                )
            )
            is None
        )
    assert len(fake_twilio.fetched) == 1 and len(fake_twilio.deleted) == 2


def test_photos_of_an_sms_intake_join_the_web_report_sent_from_the_same_phone(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    from grievance.intake.web import link_phone

    _intake_until_the_story(client)
    _photo(client, fake_twilio, "Payslip")
    with app.app_context():
        case, _ = make_case(language="en", contact_method="sms")
        link_phone(case, "sms", INTAKE_NUMBER, "en")
        commit()
        assert [a.case_id for a in db.session.scalars(select(Attachment))] == [case.id]
        assert [m.body for m in case.messages] == ["hi\n\nPayslip"]
        assert _waiting_rows() == []
    assert len(fake_twilio.fetched) == 1 and fake_twilio.media == {}


def test_photos_beyond_five_sent_before_the_case_are_counted_once_it_opens(
    app: Flask, client: FlaskClient, fake_twilio: FakeTwilio
) -> None:
    from tests.test_intake_web import jpeg_with_gps

    _intake_until_the_story(client)
    urls = [fake_twilio.add_media(jpeg_with_gps(), "image/jpeg") for _ in range(7)]
    _inbound(client, "Seven photos", urls, INTAKE_NUMBER)
    for body in ("0", "1", "0"):
        _inbound(client, body, [], INTAKE_NUMBER)
    with app.app_context():
        case_id = _case_of_intake()
        assert case_id is not None
        assert len(db.session.scalars(select(Attachment)).all()) == 5
        assert db.session.scalars(
            select(CaseEvent.detail).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == "message.media_not_kept"
            )
        ).all() == [{"count": 2, "reason": "limit"}]

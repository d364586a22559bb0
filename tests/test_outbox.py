"""The outbox: a message is a row first, delivered only after commit."""

from __future__ import annotations

from flask import Flask

from grievance.extensions import commit, db
from grievance.notify import outbox
from grievance.notify.channels import ChannelError
from grievance.notify.jobs import deliver_outbound
from grievance.notify.models import OutboundMessage, OutboxStatus
from tests.conftest import make_case


def test_message_is_delivered_after_commit(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case()
        channel = app.extensions["grievance.channel"]
        row = outbox.queue_message(
            channel="sms",
            recipient="+819011112222",
            body="Your case was received.",
            purpose="receipt",
            data_key=case.data_key,
            case_id=case.id,
        )
        assert channel.sent == []  # nothing before the commit
        commit()
        assert [(m[0], m[2], m[3]) for m in channel.sent] == [
            (row.id, "+819011112222", "Your case was received.")
        ]
        assert db.session.get(OutboundMessage, row.id).status == OutboxStatus.SENT
        # Running the job again sends nothing twice.
        deliver_outbound(row.id)
        assert len(channel.sent) == 1


def test_rolled_back_message_is_never_sent(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case()
        outbox.queue_message(
            channel="sms",
            recipient="+819011112222",
            body="x",
            purpose="reply",
            data_key=case.data_key,
            case_id=case.id,
        )
        db.session.rollback()
        commit()
        assert app.extensions["grievance.channel"].sent == []
        assert db.session.query(OutboundMessage).count() == 0


def test_outbox_row_holds_no_clear_text(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case()
        row = outbox.queue_message(
            channel="sms",
            recipient="+819011112222",
            body="CANARY body",
            purpose="reply",
            data_key=case.data_key,
            case_id=case.id,
        )
        assert b"CANARY" not in row.body_ct and b"1111" not in row.recipient_ct
        db.session.rollback()


def test_permanent_failure_marks_the_row_failed(app: Flask) -> None:
    class Refusing:
        name = "refusing"

        def send(self, *args: object) -> None:
            raise ChannelError("twilio-400", retryable=False)

    app.extensions["grievance.channel"] = Refusing()
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
        stored = db.session.get(OutboundMessage, row_id)
        assert stored.status == OutboxStatus.FAILED and stored.error_code == "twilio-400"

"""Talking with a worker: the services every part of the system uses.

* `record_inbound(case, channel, body, provider_id)`: a worker's message
  joins the case thread, unread for caseworkers.
* `send_to_worker(case, body, actor)`: a message to the worker. The Message
  row is written at once; the outbox row only when, and on the channel
  that, the worker's safe-contact wishes allow. A worker who asked for the
  web only (or no contact) finds it on the follow-up page, or receives it
  when they next text us.

Guarantees: nothing is queued for a number that said STOP; the outbox row
is written in the caller's transaction (sent only after commit); audit
details hold ids and codes, never text or numbers. Delivery states reported
by notify (sent, delivered, held, failed...) are copied onto the message,
so the case thread shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from grievance.cases import audit, triage
from grievance.cases.contact import WINDOWS, ContactWishes
from grievance.cases.models import Case, ContactMethod, Message
from grievance.datakeys import utcnow
from grievance.extensions import column_rows, db
from grievance.notify import outbox
from grievance.notify.models import OutboundMessage, OutboxStatus
from grievance.staff.models import StaffUser

# Message.delivery_status values beyond the outbox's own statuses.
WAITING = "waiting"  # web-only contact: waits for the follow-up page or the next text
STOPPED = "stopped"  # the worker said STOP: not sent

PHONE_CHANNELS = (ContactMethod.SMS, ContactMethod.WHATSAPP)


class MessagingError(Exception):
    """Base of the messaging service errors."""


class EmptyMessage(MessagingError):  # noqa: N818 - reads as the situation it names
    """A message needs some text."""


def allowed_hours(wishes: ContactWishes) -> list[tuple[int, int]] | None:
    """The worker's safe windows as [start, end) hours; None means any time."""
    if not wishes.safe_windows:
        return None
    return [WINDOWS[name] for name in wishes.safe_windows if name in WINDOWS]


def wishes_of(case: Case) -> ContactWishes:
    return ContactWishes.from_json(case.contact)


def record_inbound(case: Case, channel: str, body: str, provider_id: str | None = None) -> Message:
    """A worker's message joins the case: stored sealed, counted unread.

    `provider_id` (Twilio's MessageSid) is unique, so a redelivered message
    cannot be stored twice; callers check for it first.
    """
    now = utcnow()
    message = Message(
        data_key=case.data_key,
        case_id=case.id,
        direction="in",
        channel=channel,
        author_kind="worker",
        provider_id=provider_id,
        created_at=now,
    )
    message.body = body
    db.session.add(message)
    # In SQL, so two messages arriving at once both count.
    db.session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(unread_count=Case.unread_count + 1, last_worker_message_at=now)
    )
    db.session.flush()
    db.session.refresh(case, ["unread_count", "last_worker_message_at"])
    audit.record(
        "message.received", case_id=case.id, detail={"message_id": message.id, "channel": channel}
    )
    # Every message that joins a case is scanned for red flags, on every
    # channel; urgency only ever rises, and a raise to P0 pages on-call staff.
    triage.apply_red_flags(case, body)
    return message


def _worker_texts() -> Any:
    return current_app.extensions.get("grievance.worker_texts")


def _queue(case: Case, message: Message, body: str, purpose: str) -> str:
    """Queue `message` on the channel the worker allowed; its delivery status."""
    wishes = wishes_of(case)
    method = case.contact_method
    if method in PHONE_CHANNELS and wishes.phone:
        index = outbox.address_index(method, wishes.phone)
        if index is None:
            return OutboxStatus.FAILED
        if outbox.is_stopped(index):
            return STOPPED
        outbox.set_allowed_hours(index, allowed_hours(wishes))
        outbox.queue_text(
            channel=method,
            recipient=wishes.phone,
            body=body,
            purpose=purpose,
            data_key=case.data_key,  # type: ignore[arg-type]
            case_id=case.id,
            message_id=message.id,
            language=case.language,
        )
        return OutboxStatus.PENDING
    if method == ContactMethod.EMAIL and wishes.email:
        texts = _worker_texts()
        subject = texts.mail_subject(case.language) if texts is not None else ""
        index = outbox.address_index("email", wishes.email)
        if index is not None and outbox.is_stopped(index):
            return STOPPED
        if index is not None:
            outbox.set_allowed_hours(index, allowed_hours(wishes))
        outbox.queue_email(
            recipient=wishes.email,
            subject=subject,
            body=body,
            purpose=purpose,
            data_key=case.data_key,  # type: ignore[arg-type]
            case_id=case.id,
            message_id=message.id,
            language=case.language,
        )
        return OutboxStatus.PENDING
    return WAITING


def send_to_worker(
    case: Case, body: str, actor: StaffUser | None, *, purpose: str = "reply"
) -> Message:
    """Write a message to the worker and, where their wishes allow, queue it.

    `actor` is the staff member writing (None for a system message such as
    an acknowledgement or a reminder). Returns the Message; its
    `delivery_status` says what happens next: pending (queued), waiting
    (web-only contact), or stopped (the worker said STOP). The caller commits.
    """
    text = body.strip()
    if not text:
        raise EmptyMessage
    now = utcnow()
    message = Message(
        data_key=case.data_key,
        case_id=case.id,
        direction="out",
        channel=case.contact_method if case.contact_method != ContactMethod.NONE else "web",
        author_kind="staff" if actor is not None else "system",
        author_staff_id=actor.id if actor is not None else None,
        created_at=now,
    )
    message.body = text
    db.session.add(message)
    db.session.flush()
    message.delivery_status = _queue(case, message, text, purpose)
    if actor is not None and case.first_response_at is None:
        case.first_response_at = now
    case.last_update_to_worker_at = now
    db.session.flush()
    audit.record(
        "message.sent",
        case_id=case.id,
        actor_id=actor.id if actor is not None else None,
        detail={
            "message_id": message.id,
            "channel": message.channel,
            "delivery": message.delivery_status,
            "purpose": purpose,
        },
    )
    return message


def deliver_waiting(case: Case, channel: str, recipient: str) -> int:
    """The worker texted in: messages that waited for them go out as replies.

    Used when the worker's wishes did not allow us to write first (web-only
    contact) but they are writing to us now from this number.
    """
    waiting = db.session.scalars(
        select(Message)
        .where(
            Message.case_id == case.id,
            Message.direction == "out",
            Message.internal.is_(False),
            Message.delivery_status == WAITING,
        )
        .order_by(Message.id)
    ).all()
    for message in waiting:
        outbox.queue_text(
            channel=channel,
            recipient=recipient,
            body=message.body or "",
            purpose="reply",
            data_key=case.data_key,  # type: ignore[arg-type]
            case_id=case.id,
            message_id=message.id,
            language=case.language,
        )
        message.delivery_status = OutboxStatus.PENDING
    db.session.flush()
    return len(waiting)


@dataclass(frozen=True)
class ContactState:
    """What a caseworker needs to know about reaching the worker."""

    method: str
    stopped: bool
    window_open: bool | None  # WhatsApp only
    held: int  # WhatsApp messages waiting for the worker to reply
    waiting: int  # outbox messages waiting for the allowed hours or a retry
    failed: int


def contact_state(case: Case, *, outbound: bool = True) -> ContactState:
    """The case's contact situation, for the case page. `outbound=False`
    says the case has no outbox message: nothing to count."""
    wishes = wishes_of(case)
    address = wishes.phone if case.contact_method in PHONE_CHANNELS else wishes.email
    index = outbox.address_index(case.contact_method, address) if address else None
    rule = outbox.rule_for(index)
    counts: dict[str, int] = {}
    if outbound:
        by_status = (
            select(OutboundMessage.status, func.count())
            .where(OutboundMessage.case_id == case.id)
            .group_by(OutboundMessage.status)
        )
        counts = {status: count for status, count in column_rows(by_status)}
    window = None
    if case.contact_method == ContactMethod.WHATSAPP:
        window = outbox.window_open(rule, utcnow())
    return ContactState(
        method=case.contact_method,
        stopped=bool(rule and rule.stopped),
        window_open=window,
        held=counts.get(OutboxStatus.HELD, 0),
        waiting=counts.get(OutboxStatus.PENDING, 0),
        failed=counts.get(OutboxStatus.FAILED, 0) + counts.get(OutboxStatus.UNDELIVERED, 0),
    )


# Statuses that come with a reason worth showing beside them.
NOT_ARRIVED = (
    OutboxStatus.FAILED,
    OutboxStatus.UNDELIVERED,
    OutboxStatus.HELD,
    OutboxStatus.CANCELLED,
)


@outbox.status_changed.connect
def _copy_status_to_message(row: OutboundMessage, **_: Any) -> None:
    # The case thread shows the latest state of the message's delivery.
    if row.message_id is None:
        return
    reason = row.error_code if row.status in NOT_ARRIVED else None
    db.session.execute(
        update(Message)
        .where(Message.id == row.message_id)
        .values(delivery_status=row.status, delivery_error=reason)
    )

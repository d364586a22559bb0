"""Writing outbound messages to the outbox, in the caller's transaction,
and the contact rules every delivery obeys.

The row is the promise: once the transaction commits, the message will be
sent (by the job enqueued after commit, or by the sweeper if that enqueue
is lost). If the transaction rolls back, nothing is sent.

The contact rules (`ContactRule`, one per address, found by blind index)
are checked by the delivery job at the moment of sending, not when the row
is written: a STOP that arrives while a message waits still stops it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from sqlalchemy import select

from grievance import crypto
from grievance.datakeys import DataKey, as_utc, utcnow
from grievance.extensions import after_commit, db
from grievance.notify import dispatch
from grievance.notify.models import ContactRule, OutboundMessage, OutboxStatus
from grievance.notify.segments import DEFAULT_SMS_SEGMENTS, split_text

# Workers' hours are Japan time (notify does not import cases.deadlines).
JST = ZoneInfo("Asia/Tokyo")
PHONE_KINDS = ("sms", "whatsapp")
# A purpose that is a pre-approved WhatsApp template (allowed outside the window).
WINDOW_INVITE = "window_invite"

_signals = Namespace()
# Sent with the row whenever an outbox row's status changes, so the layer
# above (cases) can show it on the message without notify importing cases.
status_changed = _signals.signal("outbox-status-changed")


class WorkerTexts(Protocol):
    """Worker-facing texts notify needs, provided by the intake layer."""

    def window_invitation(self, language: str | None) -> str: ...


def address_index(kind: str, address: str) -> str | None:
    """Blind index of a phone number (sms, whatsapp) or e-mail address."""
    ring = crypto.current_ring()
    if kind in PHONE_KINDS:
        try:
            return crypto.phone_index(ring, address)
        except crypto.InvalidPhoneNumberError:
            return None
    if kind == "email":
        return crypto.blind_index(ring, address.strip().casefold(), "email")
    return None


def _enqueue_after_commit(row_id: int) -> None:
    after_commit(lambda: dispatch.enqueue("deliver_outbound", row_id))


def queue_message(
    *,
    channel: str,
    recipient: str,
    body: str,
    purpose: str,
    data_key: DataKey,
    case_id: int | None = None,
    message_id: int | None = None,
    language: str | None = None,
) -> OutboundMessage:
    """Add one outbound message to the outbox; delivery starts after commit."""
    row = OutboundMessage(
        data_key=data_key,
        channel=channel,
        purpose=purpose,
        case_id=case_id,
        message_id=message_id,
        language=language,
        address_index=address_index(channel, recipient),
    )
    row.recipient = recipient
    row.body = body
    db.session.add(row)
    db.session.flush()
    _enqueue_after_commit(row.id)
    return row


def queue_text(
    *,
    channel: str,
    recipient: str,
    body: str,
    purpose: str,
    data_key: DataKey,
    case_id: int | None = None,
    message_id: int | None = None,
    language: str | None = None,
) -> list[OutboundMessage]:
    """Like `queue_message`, but a long text becomes several messages that
    each fit the channel (SMS segments, WhatsApp's length limit)."""
    max_segments = int(current_app.config.get("SMS_MAX_SEGMENTS", DEFAULT_SMS_SEGMENTS))
    return [
        queue_message(
            channel=channel,
            recipient=recipient,
            body=part,
            purpose=purpose,
            data_key=data_key,
            case_id=case_id,
            message_id=message_id,
            language=language,
        )
        for part in split_text(body, channel, max_segments)
    ]


def queue_email(
    *,
    recipient: str,
    subject: str,
    body: str,
    purpose: str,
    data_key: DataKey,
    case_id: int | None = None,
    message_id: int | None = None,
    language: str | None = None,
) -> OutboundMessage:
    """An e-mail; the subject is sealed with the text ("subject, blank line, text")."""
    return queue_message(
        channel="email",
        recipient=recipient,
        body=f"{subject}\n\n{body}",
        purpose=purpose,
        data_key=data_key,
        case_id=case_id,
        message_id=message_id,
        language=language,
    )


def set_status(row: OutboundMessage, status: str, error_code: str | None = None) -> None:
    """Change a row's status and tell whoever listens (e.g. the case thread)."""
    row.status = status
    if error_code is not None:
        row.error_code = error_code
    status_changed.send(row)


# -- contact rules -------------------------------------------------------------


def rule_for(index: str | None, *, create: bool = False) -> ContactRule | None:
    if index is None:
        return None
    rule = db.session.scalar(select(ContactRule).where(ContactRule.address_index == index))
    if rule is None and create:
        rule = ContactRule(address_index=index, stopped=False)
        db.session.add(rule)
        db.session.flush()
    return rule


def set_allowed_hours(index: str, hours: list[tuple[int, int]] | None) -> ContactRule:
    """The [start, end) hours (Japan time) the worker allowed; None: any time."""
    rule = rule_for(index, create=True)
    assert rule is not None
    rule.allowed_hours = [list(pair) for pair in hours] if hours else None
    db.session.flush()
    return rule


def stop_address(index: str) -> int:
    """STOP: nothing more goes to this address; what waits is cancelled.

    Returns how many waiting messages were cancelled.
    """
    rule = rule_for(index, create=True)
    assert rule is not None
    rule.stopped = True
    waiting = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.address_index == index,
            OutboundMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.HELD]),
        )
    ).all()
    for row in waiting:
        set_status(row, OutboxStatus.CANCELLED, "stopped")
    db.session.flush()
    return len(waiting)


def start_address(index: str) -> None:
    """START: messages may go to this address again."""
    rule = rule_for(index, create=True)
    assert rule is not None
    rule.stopped = False
    db.session.flush()


def is_stopped(index: str | None) -> bool:
    rule = rule_for(index)
    return bool(rule and rule.stopped)


def note_inbound(index: str, kind: str, at: datetime | None = None) -> int:
    """The worker wrote to us: record the time and, on WhatsApp, reopen the
    window and release the messages held for it. Returns how many."""
    at = at or utcnow()
    rule = rule_for(index, create=True)
    assert rule is not None
    rule.last_inbound_at = at
    if kind != "whatsapp":
        db.session.flush()
        return 0
    rule.whatsapp_inbound_at = at
    held = db.session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.address_index == index,
            OutboundMessage.channel == "whatsapp",
            OutboundMessage.status == OutboxStatus.HELD,
        )
        .order_by(OutboundMessage.id)
    ).all()
    for row in held:
        set_status(row, OutboxStatus.PENDING)
        row.not_before = None
        _enqueue_after_commit(row.id)
    db.session.flush()
    return len(held)


def window_open(rule: ContactRule | None, now: datetime) -> bool:
    """Is WhatsApp's 24-hour customer-service window open for this address?"""
    last = as_utc(rule.whatsapp_inbound_at) if rule else None
    if last is None:
        return False
    window = timedelta(seconds=current_app.config.get("WHATSAPP_WINDOW_SECONDS", 24 * 3600))
    # A margin, so a message does not reach Twilio just after the window shut.
    margin = timedelta(seconds=current_app.config.get("WHATSAPP_WINDOW_MARGIN_SECONDS", 600))
    return now < last + window - margin


def _in_hours(hours: list[list[int]], when: datetime) -> bool:
    hour = when.astimezone(JST).hour
    return any(start <= hour < end or start <= hour + 24 < end for start, end in hours)


def may_send_now(rule: ContactRule | None, now: datetime) -> bool:
    """Inside the hours the worker allowed, or while the worker is evidently
    holding the phone (they wrote to us a few minutes ago)."""
    if rule is None or not rule.allowed_hours:
        return True
    recent = timedelta(seconds=current_app.config.get("RECENT_INBOUND_SECONDS", 15 * 60))
    last = as_utc(rule.last_inbound_at)
    if last is not None and now - last < recent:
        return True
    return _in_hours(rule.allowed_hours, now)


def next_allowed(rule: ContactRule, now: datetime) -> datetime:
    """The start of the next hour at which the worker allowed messages."""
    hours = rule.allowed_hours or []
    probe = now.replace(minute=0, second=0, microsecond=0)
    for _ in range(48):
        probe += timedelta(hours=1)
        if _in_hours(hours, probe):
            return probe
    return now + timedelta(hours=1)


def cancel_for_case(case_id: int, error_code: str) -> int:
    """Cancel what still waits for a case (e.g. its data is being purged)."""
    rows = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.case_id == case_id,
            OutboundMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.HELD]),
        )
    ).all()
    for row in rows:
        set_status(row, OutboxStatus.CANCELLED, error_code)
    return len(rows)


# -- delivery callbacks -----------------------------------------------------------

# Twilio's message statuses, mapped to ours, and how far along each is: a
# callback never moves a message backwards (callbacks arrive out of order).
PROVIDER_STATUS: dict[str, str] = {
    "accepted": OutboxStatus.SENT,
    "scheduled": OutboxStatus.SENT,
    "queued": OutboxStatus.SENT,
    "sending": OutboxStatus.SENT,
    "sent": OutboxStatus.SENT,
    "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.READ,
    "undelivered": OutboxStatus.UNDELIVERED,
    "failed": OutboxStatus.FAILED,
    "canceled": OutboxStatus.CANCELLED,
}
_RANK: dict[str, int] = {
    OutboxStatus.PENDING: 0,
    OutboxStatus.HELD: 0,
    OutboxStatus.SENT: 1,
    OutboxStatus.UNDELIVERED: 2,
    OutboxStatus.FAILED: 2,
    OutboxStatus.CANCELLED: 2,
    OutboxStatus.DELIVERED: 3,
    OutboxStatus.READ: 4,
}


def apply_provider_status(provider_id: str, status: str, error_code: str | None) -> bool:
    """Record a delivery callback; True when it changed something."""
    ours = PROVIDER_STATUS.get(status)
    if ours is None:
        return False
    row = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.provider_id == provider_id)
    )
    if row is None:
        return False
    if (
        ours in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED)
        and error_code == "63016"
        and row.channel == "whatsapp"
        and row.purpose != WINDOW_INVITE
        and row.status == OutboxStatus.SENT
    ):
        # Sent outside the 24-hour window after all: hold it and invite a
        # reply, as if the job had seen the window closed.
        row.status = OutboxStatus.PENDING
        row.provider_id = None
        rule = rule_for(row.address_index, create=True)
        if rule is not None:
            rule.whatsapp_inbound_at = None
        db.session.flush()
        _enqueue_after_commit(row.id)
        return True
    if _RANK.get(ours, 0) <= _RANK.get(row.status, 0):
        return False
    code = f"twilio-{error_code}"[:32] if error_code else None
    set_status(row, ours, code)
    db.session.flush()
    return True

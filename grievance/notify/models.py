"""The outbox: every outbound message is a row before it is a network call."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grievance.crypto import EncryptedBytes, EncryptedField
from grievance.datakeys import SealedRow, utcnow
from grievance.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # written, not yet handed to the provider
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"
    READ = "read"  # WhatsApp read receipt
    UNDELIVERED = "undelivered"  # the provider could not deliver it
    FAILED = "failed"  # gave up after retries; caseworkers see it
    CANCELLED = "cancelled"  # e.g. the worker said STOP before it went out
    HELD = "held"  # WhatsApp window closed: waits for the worker's next message


class OutboundMessage(SealedRow, db.Model):
    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbox_status_updated", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Plain integer, no foreign key: notify sits below cases in the imports.
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(12))  # sms | whatsapp | email | console
    purpose: Mapped[str] = mapped_column(String(24))  # reply | receipt | page | referral
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Keyed blind index of the recipient: finds the contact rule (STOP, hours,
    # WhatsApp window) without decrypting anything.
    address_index: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str | None] = mapped_column(String(12))  # picks the WhatsApp template
    # The sweeper leaves the row alone until then (allowed hours, backoff).
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recipient_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    body_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    recipient = EncryptedField("recipient_ct")
    body = EncryptedField("body_ct")


class ContactRule(db.Model):
    """When, and whether, one address may be contacted: the last word before a send.

    Keyed by the blind index of the address (a phone number or e-mail), not
    by case: STOP means "do not write to this number", whatever the case,
    and it must hold before any case exists. `allowed_hours` lists
    [start, end) hours in Japan time (end may pass 24 for a night window);
    empty or null means any time.
    """

    __tablename__ = "contact_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_index: Mapped[str] = mapped_column(String(64), unique=True)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_hours: Mapped[list[list[int]] | None] = mapped_column(JSON)
    # The worker's last message on any channel, and on WhatsApp alone (the
    # 24-hour window for free-form messages).
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    whatsapp_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the template that invites a reply was last queued.
    template_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

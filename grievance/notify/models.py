"""The outbox: every outbound message is a row before it is a network call."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grievance.crypto import EncryptedBytes, EncryptedField
from grievance.datakeys import SealedRow, utcnow
from grievance.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # written, not yet handed to the provider
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after retries; caseworkers see it
    CANCELLED = "cancelled"  # e.g. the worker said STOP before it went out


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
    recipient_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    body_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    recipient = EncryptedField("recipient_ct")
    body = EncryptedField("body_ct")

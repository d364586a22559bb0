"""Messaging-channel session state for workers who text rather than browse."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from grievance.crypto import EncryptedBytes, EncryptedField
from grievance.datakeys import SealedRow, utcnow
from grievance.extensions import db


class Conversation(SealedRow, db.Model):
    """One sender on one channel, found by the keyed blind index of the number."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "sender_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(12))
    sender_index: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(24), default="language")
    language: Mapped[str | None] = mapped_column(String(12))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)  # STOP received
    own_phone: Mapped[bool | None] = mapped_column(Boolean)
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # The number itself, sealed, only to reply; and the answers so far (JSON).
    address_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    draft_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    address = EncryptedField("address_ct")
    draft = EncryptedField("draft_ct")


WAITING_SQL = "processed_at IS NULL"


class InboundMessage(SealedRow, db.Model):
    """One message received from a provider, kept for idempotency.

    `provider_id` (Twilio's MessageSid) is unique: a redelivery finds the row
    and changes nothing. The body is sealed under the conversation's data
    key only until the message has been handled (it then lives in the case
    or the conversation's draft) and is erased then.
    """

    __tablename__ = "inbound_messages"
    # The messages waiting to be handled, in order: the few among the many
    # handled (grievance.intake.gateway.handle_waiting).
    __table_args__ = (
        Index(
            "ix_inbound_messages_waiting",
            "id",
            sqlite_where=text(WAITING_SQL),
            postgresql_where=text(WAITING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(12))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How many photos or files came with it, and (sealed, JSON) the addresses
    # of those we fetch, erased once fetched (grievance.intake.media).
    media_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    media_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    # True: those files are not kept, only deleted at the provider.
    media_discard: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    body_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    body = EncryptedField("body_ct")
    media = EncryptedField("media_ct")


class KeptFile(SealedRow, db.Model):
    """A file the worker chose on a report form that came back to be corrected.

    Kept (cleaned and sealed under its own data key) so the worker need not
    choose it again, and found only through the keyed hash of a random token
    that lives in the worker's session cookie. Sent with the report, or
    deleted with its key after KEEP_FOR (grievance.intake.kept_files).
    """

    __tablename__ = "kept_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    filename_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    data_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    filename = EncryptedField("filename_ct")
    data = EncryptedField("data_ct", binary=True)


class HeldReport(SealedRow, db.Model):
    """A web report between the worker's answer and its case.

    The form's request only checks the report, seals it here (under the
    data key its case will keep) and issues the receipt; a job opens the
    case (grievance.intake.held). The row is deleted in the transaction
    that opens the case, so a report is opened once.
    """

    __tablename__ = "held_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # Keyed hash of the receipt secret, as on the case.
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    report_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    # The report as JSON, its files included.
    report = EncryptedField("report_ct")

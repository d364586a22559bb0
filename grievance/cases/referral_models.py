"""Tables of the referral side: consent questions, partner SMS contacts, escalations.

Kept beside `grievance.cases.models` (which holds Consent, Partner and
Referral themselves). Free text and phone numbers are `EncryptedField`s
sealed under the case's (or, for a partner's number, its own) data key, so
destroying a case's key makes its escalations unreadable with it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grievance.cases.models import Case, Partner
from grievance.crypto import EncryptedBytes, EncryptedField
from grievance.datakeys import SealedRow, utcnow
from grievance.extensions import db


class ConsentRequest(db.Model):
    """A question put to the worker: "may we share X (with partner P)?".

    The worker answers by ticking it on the follow-up page or by replying
    YES on SMS or WhatsApp; either way the answer becomes a Consent and the
    request is closed. At most one request per case is open at a time, so a
    YES reply always answers one specific question.
    """

    __tablename__ = "consent_requests"
    __table_args__ = (Index("ix_consent_requests_case_open", "case_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(24))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when answered (consent_id then names the consent) or superseded.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id", ondelete="SET NULL"))

    case: Mapped[Case] = relationship()
    partner: Mapped[Partner | None] = relationship()


class PartnerSmsContact(SealedRow, db.Model):
    """The number a partner wants referral alerts on, by SMS, sealed.

    A row exists only for partners that asked for SMS alerts; the alert
    carries no case data, like the e-mail.
    """

    __tablename__ = "partner_sms_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    phone_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    phone = EncryptedField("phone_ct")
    partner: Mapped[Partner] = relationship()


class EscalationStatus(enum.StrEnum):
    DRAFT = "draft"  # prepared, not yet sent to the platform
    SUBMITTED = "submitted"  # filed with the platform
    FORWARDED = "forwarded"  # the platform passed it to the member company
    COMPANY_RESPONDED = "company_responded"
    MONITORING = "monitoring"  # the platform follows the company's remedy
    CLOSED = "closed"
    REJECTED = "rejected"  # the platform did not take it up


class Escalation(SealedRow, db.Model):
    """A complaint about a member company of a business grievance platform.

    Not a referral: the platform (JaCER) does not take the case; it forwards
    the complaint to its member company and monitors the company's handling.
    So an escalation has its own status, and its text is sealed under the
    case's data key.
    """

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=EscalationStatus.DRAFT)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id", ondelete="SET NULL"))
    # The platform's own number for the complaint (no personal data).
    external_ref: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The member company's name and what was filed; both may identify people.
    company_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    summary_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    # The caseworker's latest note on the platform's handling.
    note_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    company = EncryptedField("company_ct")
    summary = EncryptedField("summary_ct")
    note = EncryptedField("note_ct")
    case: Mapped[Case] = relationship()

"""Cases and everything that hangs off them.

Narratives, messages, names and contact details are `EncryptedField`s: the
columns ending in `_ct` hold only sealed envelopes (see grievance.crypto).
Columns in the clear are what the queue, triage and reports need and reveal
no one: codes, times, counts and keyed hashes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grievance.crypto import EncryptedBytes, EncryptedField
from grievance.datakeys import SealedRow, utcnow
from grievance.extensions import db


class CaseStatus(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    REFERRED = "referred"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Urgency(enum.StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Channel(enum.StrEnum):
    WEB = "web"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class ContactMethod(enum.StrEnum):
    NONE = "none"  # never contact me
    WEB = "web"  # only when I come back to the follow-up page
    SMS = "sms"
    WHATSAPP = "whatsapp"
    EMAIL = "email"


class ConsentScope(enum.StrEnum):
    STORE = "store"
    SHARE_NARRATIVE = "share_narrative"
    SHARE_IDENTITY = "share_identity"
    CONTACT_EMPLOYER = "contact_employer"
    IMMIGRATION_BODIES = "immigration_bodies"


class ReferralStatus(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


# -- taxonomy (seeded from shared/domain) ---------------------------------------

category_indicators = Table(
    "category_indicators",
    db.metadata,
    Column("category_code", ForeignKey("categories.code", ondelete="CASCADE"), primary_key=True),
    Column(
        "indicator_code", ForeignKey("ilo_indicators.code", ondelete="CASCADE"), primary_key=True
    ),
)

case_categories = Table(
    "case_categories",
    db.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("category_code", ForeignKey("categories.code"), primary_key=True, index=True),
)

case_indicators = Table(
    "case_indicators",
    db.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("indicator_code", ForeignKey("ilo_indicators.code"), primary_key=True),
)


class IloIndicator(db.Model):
    __tablename__ = "ilo_indicators"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class UrgencyLevel(db.Model):
    __tablename__ = "urgency_levels"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    # Deadline for the first human contact. Minutes for P0/P1 (clock time),
    # working days for P2/P3 (weekends do not count).
    sla_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_working_days: Mapped[int | None] = mapped_column(Integer)
    examples: Mapped[str] = mapped_column(Text, default="")


class Category(db.Model):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    default_urgency: Mapped[str] = mapped_column(ForeignKey("urgency_levels.code"))
    escalation_rule: Mapped[str] = mapped_column(String(160), default="")
    referral_types: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    indicators: Mapped[list[IloIndicator]] = relationship(secondary=category_indicators)


class ResidenceStatus(db.Model):
    __tablename__ = "residence_statuses"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_ja: Mapped[str] = mapped_column(String(120))
    work_restriction: Mapped[str] = mapped_column(String(200), default="")
    employer_change: Mapped[str] = mapped_column(String(300), default="")
    key_risks: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(String(300), default="")


# -- partners ----------------------------------------------------------------------


class Partner(db.Model):
    """A body cases can be referred to: lawyer, union, government, NGO, embassy."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # lawyer|union|government|ngo|embassy|other
    sector: Mapped[str] = mapped_column(String(32), default="")
    type_code: Mapped[str] = mapped_column(String(32), default="")
    pref_code: Mapped[str] = mapped_column(String(2), default="")
    prefecture: Mapped[str] = mapped_column(String(40), default="")
    # local | prefectural | regional | national
    scope: Mapped[str] = mapped_column(String(16), default="")
    languages: Mapped[str] = mapped_column(String(200), default="")  # ";"-separated codes
    categories: Mapped[str] = mapped_column(String(400), default="")  # ";"-separated codes
    eligibility: Mapped[str] = mapped_column(String(120), default="")  # residence codes; "" = all
    anonymous_ok: Mapped[str] = mapped_column(String(32), default="")
    immigration_exposure: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_email: Mapped[str] = mapped_column(String(200), default="")
    is_fictional: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(String(300), default="")

    def language_list(self) -> list[str]:
        return [x for x in self.languages.split(";") if x]

    def category_list(self) -> list[str]:
        return [x for x in self.categories.split(";") if x]


# -- cases -------------------------------------------------------------------------


class Case(SealedRow, db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        # The queue: open cases by urgency, then deadline; keyset pagination
        # continues from (urgency, due_at, id).
        Index("ix_cases_queue", "status", "urgency", "due_at", "id"),
        Index("ix_cases_open_order", "urgency", "due_at", "id"),
        Index("ix_cases_created", "created_at"),
        # Repeat employers: names grouped in index order, the period read
        # from the same index, never from the wide case rows.
        Index("ix_cases_employer_created", "employer_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # Keyed hash of the receipt secret; the secret itself is never stored.
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.NEW)
    urgency: Mapped[str] = mapped_column(ForeignKey("urgency_levels.code"), default=Urgency.P3)
    urgency_reason: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(12), index=True)
    channel: Mapped[str] = mapped_column(String(12), default=Channel.WEB)
    prefecture: Mapped[str | None] = mapped_column(String(2), index=True)
    industry: Mapped[str | None] = mapped_column(String(40))
    residence_status: Mapped[str | None] = mapped_column(ForeignKey("residence_statuses.code"))
    since: Mapped[str | None] = mapped_column(String(16))
    in_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_method: Mapped[str] = mapped_column(String(12), default=ContactMethod.WEB)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    # Normalised keyed hash of the employer's name: counts repeat employers
    # without decrypting anything.
    employer_key: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_amount_yen: Mapped[int | None] = mapped_column(Integer)
    closure_reason: Mapped[str | None] = mapped_column(String(32))
    # "pending" while a P0/P1 "no contact" closure waits for an admin's review.
    review_state: Mapped[str | None] = mapped_column(String(16))
    feedback_score: Mapped[int | None] = mapped_column(Integer)
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_dialogue: Mapped[bool | None] = mapped_column(Boolean)
    gag_clause: Mapped[bool] = mapped_column(Boolean, default=False)
    conflict_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_update_to_worker_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_worker_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    narrative_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    # JSON: phone (E.164), e-mail, hours to avoid. Sealed as one field.
    contact_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    # JSON: employer, supervising or support organisation, broker, buyer names.
    intermediaries_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    feedback_comment_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    # The worker's survey answers (grievance.cases.resolution): solved is
    # "yes" | "partly" | "no"; feedback_score counts the positive answers.
    feedback_solved: Mapped[str | None] = mapped_column(String(8))
    feedback_felt_safe: Mapped[bool | None] = mapped_column(Boolean)
    feedback_recommend: Mapped[bool | None] = mapped_column(Boolean)
    survey_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The caseworker's summary of the outcome (may name people): sealed.
    outcome_summary_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    narrative = EncryptedField("narrative_ct")
    contact = EncryptedField("contact_ct")
    intermediaries = EncryptedField("intermediaries_ct")
    feedback_comment = EncryptedField("feedback_comment_ct")
    outcome_summary = EncryptedField("outcome_summary_ct")

    categories: Mapped[list[Category]] = relationship(secondary=case_categories)
    indicators: Mapped[list[IloIndicator]] = relationship(secondary=case_indicators)
    messages: Mapped[list[Message]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Message.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Consent.id"
    )
    referrals: Mapped[list[Referral]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Referral.id"
    )
    clocks: Mapped[list[CaseClock]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseClock.due_at"
    )


class CaseClock(db.Model):
    """A statutory or follow-up deadline at risk in a case (e.g. wage claims
    prescribe after 3 years), with a reminder when it comes close."""

    __tablename__ = "case_clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="clocks")


class Message(SealedRow, db.Model):
    """One message in a case's thread; `internal` ones are staff notes."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_case_created", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(12))
    author_kind: Mapped[str] = mapped_column(String(8))  # worker | staff | system
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # The provider's id (Twilio MessageSid); unique so a redelivery stores nothing new.
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    # Why it did not arrive (a code: ours or "twilio-<ErrorCode>"), shown
    # beside a failed, undelivered, held or cancelled status.
    delivery_error: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    body = EncryptedField("body_ct")
    case: Mapped[Case] = relationship(back_populates="messages")


class Attachment(SealedRow, db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    filename_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)
    data_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    filename = EncryptedField("filename_ct")
    data = EncryptedField("data_ct", binary=True)
    case: Mapped[Case] = relationship(back_populates="attachments")


class Consent(db.Model):
    """One consent, for one scope (and partner), withdrawable."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(24))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    method: Mapped[str] = mapped_column(String(16))  # web_tick | message_yes | spoken
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="consents")
    partner: Mapped[Partner | None] = relationship()

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class Referral(db.Model):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    shared_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.OFFERED)
    decline_reason: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    respond_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    outcome_amount_yen: Mapped[int | None] = mapped_column(Integer)
    # When the partner was last reminded of an overdue answer (one reminder each).
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="referrals")
    partner: Mapped[Partner] = relationship()
    updates: Mapped[list[ReferralUpdate]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralUpdate.id"
    )


class ReferralUpdate(SealedRow, db.Model):
    """An advisor's or caseworker's entry on a referral (update, question, answer)."""

    __tablename__ = "referral_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    author_kind: Mapped[str] = mapped_column(String(12))  # advisor | caseworker | system
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # accept|decline|update|question|answer|outcome
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    body = EncryptedField("body_ct")
    referral: Mapped[Referral] = relationship(back_populates="updates")


# Events that are not views (what the timeline shows), and views. Written
# out, not bound, so a query matches its partial index's predicate: a
# prepared statement's generic plan cannot use one for a bound value.
STORY_EVENTS_SQL = "kind <> 'case.viewed'"
VIEW_EVENTS_SQL = "kind = 'case.viewed'"


class CaseEvent(db.Model):
    """Append-only, hash-chained audit event. `detail` never holds personal data.

    The case id is kept after a case is purged (set to NULL would break
    nothing in the chain: the hash covers the id as it was written).
    """

    __tablename__ = "case_events"
    # A case seen a thousand times holds a thousand view events. A case's
    # events are read through two partial indexes, the views and the rest,
    # so the timeline never walks past the views (with one index on
    # (case_id, kind, seq) PostgreSQL's planner took it for the timeline too,
    # filtering out every view); the page's view count is kept in
    # `CaseViewCount`, not counted.
    __table_args__ = (
        Index(
            "ix_case_events_story",
            "case_id",
            "seq",
            sqlite_where=text(STORY_EVENTS_SQL),
            postgresql_where=text(STORY_EVENTS_SQL),
        ),
        Index(
            "ix_case_events_views",
            "case_id",
            "seq",
            sqlite_where=text(VIEW_EVENTS_SQL),
            postgresql_where=text(VIEW_EVENTS_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)


class CaseViewCount(db.Model):
    """How many times staff opened a case: its view events, counted as they
    are written (`services.record_view`, in the same transaction).

    Counting the events on every page view took time in proportion to the
    views: about 1.8 ms on PostgreSQL for a case seen 4,000 times. The
    events stay the record; this is the page's figure.
    """

    __tablename__ = "case_view_counts"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    views: Mapped[int] = mapped_column(Integer, default=0)


class AuditHead(db.Model):
    """The single row that serialises audit writes and holds the chain's head.

    Updating it first takes a row lock (PostgreSQL) or the write lock
    (SQLite), so two transactions can never chain onto the same event.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class CannedResponse(db.Model):
    """A reply template per language, written by staff (no personal data)."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(12), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Setting(db.Model):
    """Admin-editable settings (retention period, enabled languages...)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class AggregateCount(db.Model):
    """Counts that outlive purged cases: (month, dimension, value) -> count."""

    __tablename__ = "aggregate_counts"
    __table_args__ = (UniqueConstraint("period", "dimension", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM of the case's opening
    dimension: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer, default=0)

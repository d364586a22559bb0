"""Read-side queries for the caseworker and advisor pages."""

from __future__ import annotations

from sqlalchemy import case as sql_case
from sqlalchemy import select

from grievance.cases.models import Case, CaseStatus, Referral
from grievance.extensions import db

OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.IN_PROGRESS,
    CaseStatus.REFERRED,
)


def queue_page(limit: int = 50) -> list[Case]:
    """Open cases, most urgent first, then by deadline."""
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.status.in_(OPEN_STATUSES))
            .order_by(Case.urgency, Case.due_at, Case.id)
            .limit(limit)
        )
    )


def case_by_reference(reference: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.reference == reference))


def referrals_for_partner(partner_id: int) -> list[Referral]:
    status_order = sql_case((Referral.status == "offered", 0), else_=1)
    return list(
        db.session.scalars(
            select(Referral)
            .where(Referral.partner_id == partner_id)
            .order_by(status_order, Referral.created_at.desc())
            .limit(200)
        )
    )

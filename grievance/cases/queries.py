"""Read-side queries for the caseworker and advisor pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm.attributes import set_committed_value

from grievance.cases.models import Attachment, Case, CaseClock, Consent, Referral
from grievance.cases.referral_models import ConsentRequest, Escalation
from grievance.extensions import column_rows, db


def case_by_reference(reference: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.reference == reference))


@dataclass(frozen=True)
class CaseParts:
    """Which of a case's lists hold anything, as the case page shows them."""

    attachments: bool = True
    clocks: bool = True
    consents: bool = True
    referrals: bool = True
    open_questions: bool = True  # consent questions not yet closed
    escalations: bool = True


def case_parts(case: Case) -> CaseParts:
    """Ask once which of the case's lists are empty.

    Most cases on the page have no attachment, deadline, consent, referral,
    question or escalation yet. Each list is otherwise a query of its own
    (six in all, about half a millisecond each); with this one, only the
    lists that hold something are read. The lists known to be empty are
    set as loaded, so the page reads them without a query.
    """
    found = column_rows(
        select(
            exists().where(Attachment.case_id == case.id),
            exists().where(CaseClock.case_id == case.id),
            exists().where(Consent.case_id == case.id),
            exists().where(Referral.case_id == case.id),
            exists().where(ConsentRequest.case_id == case.id, ConsentRequest.closed_at.is_(None)),
            exists().where(Escalation.case_id == case.id),
        )
    )[0]
    parts = CaseParts(*(bool(value) for value in found))
    loaded = case.__dict__
    for name in ("attachments", "clocks", "consents", "referrals"):
        if not getattr(parts, name) and name not in loaded:
            set_committed_value(case, name, [])
    return parts

"""Read-side queries for the caseworker and advisor pages."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, select
from sqlalchemy.orm.attributes import set_committed_value

from grievance.cases.models import (
    Attachment,
    Case,
    CaseClock,
    CaseEvent,
    Consent,
    Message,
    Referral,
)
from grievance.cases.referral_models import ConsentRequest, Escalation
from grievance.extensions import db
from grievance.notify.models import OutboundMessage


def case_by_reference(reference: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.reference == reference))


@dataclass(frozen=True)
class CaseParts:
    """Which of a case's lists hold anything, as the case page shows them,
    and how many views and messages it has."""

    attachments: bool
    clocks: bool
    consents: bool
    referrals: bool
    open_questions: bool  # consent questions not yet closed
    escalations: bool
    outbound: bool  # messages in the outbox, whatever their state
    views: int  # staff views recorded so far
    messages: int  # messages and notes in the thread


# The lists that are relationships of Case, set as loaded when empty.
_RELATIONSHIPS = ("attachments", "clocks", "consents", "referrals")


def _present(case_id: Any) -> list[ColumnElement[bool]]:
    """One EXISTS per CaseParts field, in its order."""
    return [
        exists().where(Attachment.case_id == case_id),
        exists().where(CaseClock.case_id == case_id),
        exists().where(Consent.case_id == case_id),
        exists().where(Referral.case_id == case_id),
        exists().where(ConsentRequest.case_id == case_id, ConsentRequest.closed_at.is_(None)),
        exists().where(Escalation.case_id == case_id),
        exists().where(OutboundMessage.case_id == case_id),
    ]


def _counts(case_id: Any) -> list[ColumnElement[int]]:
    """The counts of CaseParts, in its order."""
    return [
        select(func.count())
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == "case.viewed")
        .scalar_subquery(),
        select(func.count()).where(Message.case_id == case_id).scalar_subquery(),
    ]


@functools.cache
def _with_parts_statement() -> Select[Any]:
    # Built once: the case page asks for it on every view. (Not joined to
    # the case's categories and indicators: SQLite would build the whole
    # join of a link table first, a scan of every case's links.)
    return select(Case, *_present(Case.id), *_counts(Case.id)).where(
        Case.reference == bindparam("reference")
    )


def case_with_parts(reference: str) -> tuple[Case, CaseParts] | None:
    """The case and which of its lists are empty, in one query.

    Most cases on the page have no attachment, deadline, consent, referral,
    question, escalation or outbox message yet. Each list is otherwise a
    query of its own (seven in all, a database round trip each); here only
    the lists that hold something are read afterwards. The empty ones that
    are relationships of the case are set as loaded, so the page reads them
    without a query; the others are skipped by their callers. The page's
    two counts come in the same query: two round trips fewer.
    """
    row = db.session.execute(_with_parts_statement(), {"reference": reference}).first()
    if row is None:
        return None
    case, *found = row
    present, (views, messages) = found[:-2], found[-2:]
    parts = CaseParts(*(bool(value) for value in present), views=views, messages=messages)
    loaded = case.__dict__
    for name in _RELATIONSHIPS:
        if not getattr(parts, name) and name not in loaded:
            set_committed_value(case, name, [])
    return case, parts

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
    CaseViewCount,
    Consent,
    Message,
    Referral,
    case_categories,
    case_indicators,
)
from grievance.cases.referral_models import ConsentRequest, Escalation
from grievance.extensions import db
from grievance.notify.models import OutboundMessage


def case_by_reference(reference: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.reference == reference))


@dataclass(frozen=True)
class CaseParts:
    """Which of a case's lists hold anything, as the case page shows them,
    how many views and messages it has, and its category and indicator codes."""

    attachments: bool
    clocks: bool
    consents: bool
    referrals: bool
    open_questions: bool  # consent questions not yet closed
    escalations: bool
    outbound: bool  # messages in the outbox, whatever their state
    views: int  # staff views recorded so far
    messages: int  # messages and notes in the thread
    categories: tuple[str, ...]  # codes, sorted
    indicators: tuple[str, ...]  # ILO indicator codes, sorted


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
        func.coalesce(
            select(CaseViewCount.views).where(CaseViewCount.case_id == case_id).scalar_subquery(),
            0,
        ),
        select(func.count()).where(Message.case_id == case_id).scalar_subquery(),
    ]


# Codes in one text (string_agg on PostgreSQL, group_concat on SQLite);
# codes are letters, digits and underscores, never a space.
_SEPARATOR = " "


def _codes(case_id: Any) -> list[ColumnElement[str | None]]:
    """The case's category codes, then its indicator codes, each in one text."""
    return [
        select(func.aggregate_strings(case_categories.c.category_code, _SEPARATOR))
        .where(case_categories.c.case_id == case_id)
        .scalar_subquery(),
        select(func.aggregate_strings(case_indicators.c.indicator_code, _SEPARATOR))
        .where(case_indicators.c.case_id == case_id)
        .scalar_subquery(),
    ]


def _split(codes: str | None) -> tuple[str, ...]:
    return tuple(sorted(codes.split(_SEPARATOR))) if codes else ()


@functools.cache
def _with_parts_statement() -> Select[Any]:
    # Built once: the case page asks for it on every view. The codes come
    # from subqueries on the link tables' keys (case id first), one case's
    # rows each: a join would have SQLite build the whole join of a link
    # table first, a scan of every case's links.
    return select(Case, *_present(Case.id), *_counts(Case.id), *_codes(Case.id)).where(
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
    two counts and the codes of the case's categories and indicators come
    in the same query: four round trips fewer, and one more per category
    that would have loaded its indicators. The page takes names and
    defaults for the codes from the reference cache.
    """
    row = db.session.execute(_with_parts_statement(), {"reference": reference}).first()
    if row is None:
        return None
    case, *found = row
    present, (views, messages, categories, indicators) = found[:-4], found[-4:]
    parts = CaseParts(
        *(bool(value) for value in present),
        views=views,
        messages=messages,
        categories=_split(categories),
        indicators=_split(indicators),
    )
    loaded = case.__dict__
    for name in _RELATIONSHIPS:
        if not getattr(parts, name) and name not in loaded:
            set_committed_value(case, name, [])
    return case, parts

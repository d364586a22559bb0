"""The case page's menus: ILO indicators, residence statuses, canned replies,
and what each category implies (its default urgency and indicators).

Plain codes and texts, kept by `grievance.reference_cache` (the queue's
categories and the staff who can take a case are in `cases.queue`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from wtforms.fields import SelectChoice

from grievance import reference_cache
from grievance.cases.models import (
    CannedResponse,
    Category,
    IloIndicator,
    ResidenceStatus,
    category_indicators,
)
from grievance.extensions import db
from grievance.formbase import options

# Made once and kept with the reference lists: a page's field takes them as is.
Choices = tuple[SelectChoice, ...]


def indicator_choices() -> Choices:
    """(code, "code · name") for every ILO indicator."""

    def load() -> Choices:
        rows = db.session.execute(
            select(IloIndicator.code, IloIndicator.name).order_by(IloIndicator.code)
        )
        return tuple(options((code, f"{code} · {text}") for code, text in rows))

    return reference_cache.cached("indicator-choices", load)


@dataclass(frozen=True)
class CategoryFacts:
    default_urgency: str
    indicators: tuple[str, ...]  # the ILO indicators the category implies


def category_facts() -> dict[str, CategoryFacts]:
    """Each category's default urgency and indicators, by code (disabled
    ones too: a case keeps the categories it was given)."""

    def load() -> dict[str, CategoryFacts]:
        implied: dict[str, list[str]] = {}
        for code, indicator in db.session.execute(
            select(category_indicators.c.category_code, category_indicators.c.indicator_code)
        ):
            implied.setdefault(code, []).append(indicator)
        return {
            code: CategoryFacts(urgency, tuple(sorted(implied.get(code, ()))))
            for code, urgency in db.session.execute(select(Category.code, Category.default_urgency))
        }

    return reference_cache.cached("category-facts", load)


def status_choices(japanese: bool) -> Choices:
    """A blank choice, then (code, "code · name") per residence status."""

    def load() -> Choices:
        name = ResidenceStatus.name_ja if japanese else ResidenceStatus.name_en
        rows = db.session.execute(select(ResidenceStatus.code, name).order_by(ResidenceStatus.code))
        return tuple(options([("", "—"), *((code, f"{code} · {text}") for code, text in rows)]))

    return reference_cache.cached(("status-choices", japanese), load)


@dataclass(frozen=True)
class CannedReply:
    id: int
    title: str
    body: str


def canned_replies(language: str) -> tuple[CannedReply, ...]:
    """Active canned replies in one language, in the admins' order."""

    def load() -> tuple[CannedReply, ...]:
        rows = db.session.execute(
            select(CannedResponse.id, CannedResponse.title, CannedResponse.body)
            .where(CannedResponse.language == language, CannedResponse.active.is_(True))
            .order_by(CannedResponse.position, CannedResponse.id)
        )
        return tuple(CannedReply(*row) for row in rows)

    return reference_cache.cached(("canned", language), load)

"""Words for the codes of the statistics, in the staff member's language.

The numbers carry codes only; these turn them into Japanese or English when
a page is drawn. An unknown code is shown as itself rather than hidden.
Exports keep the codes, so a spreadsheet means the same in any language.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy import select

from grievance import i18n
from grievance.cases.labels import channel_label, closure_label, party_label, urgency_label
from grievance.cases.models import Category, ResidenceStatus
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l
from grievance.intake.labels import PREFECTURES

DIMENSION_TITLES: dict[str, Any] = {
    "total": _l("Cases opened"),
    "category": _l("Category"),
    "language": _l("Language"),
    "channel": _l("Channel"),
    "prefecture": _l("Prefecture"),
    "residence": _l("Residence status"),
    "urgency": _l("Urgency"),
    "outcome": _l("Outcome"),
    "closure": _l("Reason for closing"),
    "ack_deadline": _l("Acknowledgement and its deadline"),
    "ack_time": _l("Time to acknowledge"),
    "first_response_time": _l("Time to the first human response"),
    "resolve_time": _l("Time to resolve"),
    "solved": _l("Survey: was the problem solved?"),
    "felt_safe": _l("Survey: did the worker feel safe?"),
    "recommend": _l("Survey: would the worker recommend the service?"),
    "dialogue": _l("Resolved through dialogue"),
    "gag_clause": _l("Settled with a gag clause"),
    "conflict_checked": _l("Conflict-of-interest check recorded"),
    "legal_advice": _l("Legal advice available"),
    "employer": _l("Employer"),
}

NOT_GIVEN = _l("Not given")
NONE_RECORDED = _l("None recorded")

OUTCOME_LABELS: dict[str, Any] = {
    "wages_recovered": _l("Wages recovered"),
    "documents_returned": _l("Documents returned"),
    "transfer_achieved": _l("Transfer to a new employer achieved"),
    "apology": _l("Apology"),
    "policy_change": _l("Policy change at the workplace"),
    "referral_completed": _l("Referral completed"),
    "no_remedy": _l("No remedy"),
    "worker_withdrew": _l("The worker withdrew"),
}

DEADLINE_LABELS: dict[str, Any] = {
    "in_time": _l("Acknowledged within the deadline"),
    "late": _l("Acknowledged after the deadline"),
    "missed": _l("Deadline passed, not acknowledged"),
    "pending": _l("Deadline not reached yet"),
}

BUCKET_LABELS: dict[str, Any] = {
    "lt_1h": _l("Under 1 hour"),
    "lt_1d": _l("1 to 24 hours"),
    "lt_2d": _l("1 to 2 days"),
    "lt_5d": _l("2 to 5 days"),
    "lt_14d": _l("5 to 14 days"),
    "lt_30d": _l("14 to 30 days"),
    "lt_90d": _l("30 to 90 days"),
    "ge_90d": _l("90 days or more"),
}

SOLVED_LABELS: dict[str, Any] = {
    "yes": _l("Solved"),
    "partly": _l("Partly solved"),
    "no": _l("Not solved"),
}

YES_NO: dict[str, Any] = {"yes": _l("Yes"), "no": _l("No")}

# The order codes are listed in, where the order means something.
ORDERS: dict[str, tuple[str, ...]] = {
    "urgency": ("P0", "P1", "P2", "P3"),
    "ack_deadline": tuple(DEADLINE_LABELS),
    "ack_time": tuple(BUCKET_LABELS),
    "first_response_time": tuple(BUCKET_LABELS),
    "resolve_time": tuple(BUCKET_LABELS),
    "solved": tuple(SOLVED_LABELS),
}


def title(dimension: str) -> str:
    if dimension.startswith("party:"):
        return party_label(dimension.split(":", 1)[1])
    return str(DIMENSION_TITLES.get(dimension, dimension))


@cache
def _language_name(code: str, ui: str) -> str:
    lang = i18n.BY_CODE.get(code)
    if lang is None:
        return code
    if code == "ja-x-easy":
        return ""  # not a Babel locale: worded below through gettext
    try:
        return Locale.parse(lang.babel_locale).get_display_name(ui) or lang.english
    except (UnknownLocaleError, ValueError):
        return lang.english


class Labeller:
    """Labels for one page: loads the category and residence names once."""

    def __init__(self) -> None:
        self.ui = i18n.current_language().code
        self.categories = dict(db.session.execute(select(Category.code, Category.name)).all())
        japanese = self.ui == "ja"
        self.residence = {
            code: (name_ja if japanese else name_en)
            for code, name_ja, name_en in db.session.execute(
                select(ResidenceStatus.code, ResidenceStatus.name_ja, ResidenceStatus.name_en)
            )
        }
        self.prefectures = dict(PREFECTURES)

    def __call__(self, dimension: str, code: str) -> str:
        return self.label(dimension, code)

    def label(self, dimension: str, code: str) -> str:
        if code == "":
            return str(NONE_RECORDED if dimension in ("outcome", "closure") else NOT_GIVEN)
        if dimension == "category":
            return self.categories.get(code, code)
        if dimension == "language":
            if code == "ja-x-easy":
                return str(_l("Easy Japanese"))
            return _language_name(code, "ja" if self.ui == "ja" else "en")
        if dimension == "prefecture":
            return self.prefectures.get(code, code)
        if dimension == "residence":
            return self.residence.get(code, code)
        if dimension == "urgency":
            return urgency_label(code)
        if dimension == "channel":
            return channel_label(code)
        if dimension == "closure":
            return closure_label(code)
        if dimension == "outcome":
            return str(OUTCOME_LABELS.get(code, code))
        if dimension == "ack_deadline":
            return str(DEADLINE_LABELS.get(code, code))
        if dimension in ("ack_time", "first_response_time", "resolve_time"):
            return str(BUCKET_LABELS.get(code, code))
        if dimension == "solved":
            return str(SOLVED_LABELS.get(code, code))
        if code in YES_NO:
            return str(YES_NO[code])
        return code


def ordered(dimension: str, counts: dict[str, int]) -> list[tuple[str, int]]:
    """Codes in their natural order where there is one, else largest first."""
    order = ORDERS.get(dimension)
    if order is not None:
        known = [(code, counts[code]) for code in order if code in counts]
        rest = sorted((c, n) for c, n in counts.items() if c not in order)
        return known + rest
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

"""Triage: categories, ILO indicators, urgency, residence status, the
intermediary chain, statutory clocks; and red flags at intake.

Services here flush and write audit events; the caller commits. Audit
details hold codes only: categories, indicators, urgencies, the roles of
the intermediaries named, never a name, a date of birth or a word the
worker wrote.

Urgency only ever rises on its own (a red flag); lowering it is a
caseworker's decision and needs a reason. When urgency rises, the next
deadline moves closer, never further away.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from grievance import crypto
from grievance.cases import audit, menus
from grievance.cases.deadlines import JST, due_at
from grievance.cases.labels import (
    CLOCK_LABELS,
    N_,
    PARTY_LABELS,
    URGENCY_REASON_LABELS,
    in_staff_languages,
)
from grievance.cases.models import (
    Case,
    CaseClock,
    Category,
    IloIndicator,
    ResidenceStatus,
)
from grievance.cases.redflags import URGENCY_ORDER, RedFlags, more_urgent, scan
from grievance.cases.workspace_models import CaseParty
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l
from grievance.notify import outbox
from grievance.staff.models import Role, StaffUser

PARTY_ROLES: tuple[str, ...] = tuple(PARTY_LABELS)  # sending agency ... buyer
CLOCK_KINDS: tuple[str, ...] = tuple(CLOCK_LABELS)
URGENCY_REASONS: tuple[str, ...] = tuple(URGENCY_REASON_LABELS)

# Statutory periods from the day of the event (DOMAIN.md, "How a case runs").
CLOCK_PERIODS: dict[str, tuple[int, int]] = {  # kind -> (years, days)
    "wage_claim": (3, 0),  # unpaid-wage claims prescribe after 3 years
    "dismissal_notice": (0, 30),  # dismissal needs 30 days' notice
    "pension_lump_sum": (2, 0),  # within 2 years of leaving Japan
    "affiliation_change": (0, 14),  # notify a change of organisation within 14 days
    "status_expiry": (0, 0),  # the expiry date itself
}

# Words that name a company's legal form, not the company: dropped so that
# "Demo Farm KK" and "株式会社 Demo Farm" count as one employer.
_LEGAL_FORMS = (
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "(株)",
    "(有)",
    "co., ltd.",
    "co.,ltd.",
    "co. ltd.",
    "co ltd",
    "k.k.",
    "kk",
    "inc.",
    "inc",
    "ltd.",
    "ltd",
    "llc",
    "corporation",
    "corp.",
    "company",
)


class TriageError(Exception):
    """A triage input was refused; `message` says why, for the caseworker."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


# -- suggestions (pure given the taxonomy) -----------------------------------------


def suggest_indicators(categories: Iterable[str]) -> list[str]:
    """ILO forced-labour indicators implied by the categories (codes)."""
    facts = menus.category_facts()
    return sorted({ind for code in categories if code in facts for ind in facts[code].indicators})


def suggest_urgency(categories: Iterable[str], flags: RedFlags) -> str | None:
    """The most severe of the categories' (codes) default urgency and the red flags."""
    facts = menus.category_facts()
    levels = [facts[code].default_urgency for code in categories if code in facts]
    if flags.urgency:
        levels.append(flags.urgency)
    return min(levels, key=URGENCY_ORDER.index) if levels else None


def next_due(case: Case, new_urgency: str, now: datetime) -> datetime:
    """The case's next deadline after its urgency changes.

    Raising: the sooner of the current deadline and the new level's
    deadline from now. Lowering before the first contact: the new level's
    deadline from the opening. Lowering later: unchanged.
    """
    current = as_utc(case.due_at)
    old = case.urgency
    if URGENCY_ORDER.index(new_urgency) < URGENCY_ORDER.index(old):
        candidate = due_at(new_urgency, now)
        return min(current, candidate) if current else candidate
    if case.acknowledged_at is None and case.first_response_at is None:
        return due_at(new_urgency, as_utc(case.created_at) or now)
    return current or due_at(new_urgency, now)


def clock_due(kind: str, event_day: date) -> datetime:
    """When a statutory clock runs out, as the start of that day in Japan."""
    years, days = CLOCK_PERIODS[kind]
    day = event_day
    if years:
        try:
            day = day.replace(year=day.year + years)
        except ValueError:  # 29 February
            day = day.replace(year=day.year + years, day=28)
    day = day + timedelta(days=days)
    # Stored in UTC like every time here (SQLite keeps no offset).
    return datetime.combine(day, time(0, 0), tzinfo=JST).astimezone(UTC)


def normalise_name(name: str) -> str:
    """A name folded so that spelling noise does not split one company in two."""
    text = unicodedata.normalize("NFKC", name).casefold()
    for form in _LEGAL_FORMS:
        text = text.replace(form, " ")
    return "".join(ch for ch in text if ch.isalnum())


def party_key(name: str) -> str:
    """Keyed hash of a normalised name: counts repeat parties, reveals none."""
    return crypto.keyed_digest(crypto.current_ring(), "party", normalise_name(name))


# -- triage ------------------------------------------------------------------------


@dataclass
class TriageInput:
    categories: list[str]
    indicators: list[str]
    urgency: str
    urgency_reason: str | None
    residence_status: str | None
    parties: dict[str, str] = field(default_factory=dict)


def parties_of(case: Case) -> dict[str, str]:
    """The intermediary chain as the caseworker entered it (decrypted)."""
    if not case.intermediaries:
        return {}
    data = json.loads(case.intermediaries)
    return {role: str(data[role]) for role in PARTY_ROLES if data.get(role)}


def triage_case(actor: StaffUser, case: Case, data: TriageInput) -> list[str]:
    """Save the triage; returns the names of the fields that changed.

    Refuses unknown codes, and a change of urgency without a reason.
    """
    now = utcnow()
    categories = list(
        db.session.scalars(select(Category).where(Category.code.in_(data.categories)))
    )
    if len(categories) != len(set(data.categories)):
        raise TriageError(_l("Unknown category."))
    indicators = list(
        db.session.scalars(select(IloIndicator).where(IloIndicator.code.in_(data.indicators)))
    )
    if len(indicators) != len(set(data.indicators)):
        raise TriageError(_l("Unknown ILO indicator."))
    if data.urgency not in URGENCY_ORDER:
        raise TriageError(_l("Unknown urgency."))
    if data.residence_status and db.session.get(ResidenceStatus, data.residence_status) is None:
        raise TriageError(_l("Unknown residence status."))
    reason = data.urgency_reason or None
    if reason is not None and reason not in URGENCY_REASONS:
        raise TriageError(_l("Unknown reason for the urgency."))
    if data.urgency != case.urgency and reason is None:
        raise TriageError(_l("Give a reason when you change the urgency."))
    unknown_roles = set(data.parties) - set(PARTY_ROLES)
    if unknown_roles:
        raise TriageError(_l("Unknown intermediary role."))

    changed: list[str] = []
    detail: dict[str, object] = {}
    new_codes = sorted(c.code for c in categories)
    if new_codes != sorted(c.code for c in case.categories):
        case.categories = categories
        changed.append("categories")
        detail["categories"] = new_codes
    new_indicators = sorted(i.code for i in indicators)
    if new_indicators != sorted(i.code for i in case.indicators):
        case.indicators = indicators
        changed.append("indicators")
        detail["indicators"] = new_indicators
    if data.urgency != case.urgency:
        detail["urgency"] = [case.urgency, data.urgency]
        detail["reason"] = reason
        case.due_at = next_due(case, data.urgency, now)
        case.urgency = data.urgency
        case.urgency_reason = reason or ""
        changed.append("urgency")
    if (data.residence_status or None) != case.residence_status:
        case.residence_status = data.residence_status or None
        changed.append("residence_status")
        detail["residence"] = case.residence_status
    if _set_parties(case, data.parties):
        changed.append("parties")
        detail["parties"] = sorted(r for r, n in data.parties.items() if n.strip())
    if changed:
        db.session.flush()
        audit.record("case.triaged", case_id=case.id, actor_id=actor.id, detail=detail)
    return changed


def _set_parties(case: Case, parties: dict[str, str]) -> bool:
    """Seal the names, refresh the keyed index; True when anything changed."""
    names = {role: " ".join(name.split())[:200] for role, name in parties.items() if name.strip()}
    if names == parties_of(case):
        return False
    case.intermediaries = json.dumps(names, ensure_ascii=False) if names else None
    employer = names.get("employer")
    case.employer_key = _employer_key(employer) if employer else None
    db.session.execute(delete(CaseParty).where(CaseParty.case_id == case.id))
    for role, name in names.items():
        db.session.add(CaseParty(case_id=case.id, role=role, name_key=party_key(name)))
    return True


def _employer_key(name: str) -> str:
    # The same key open_case writes, so counts agree whichever path set it.
    from grievance.cases.services import employer_key

    return employer_key(name)


def repeat_parties(role: str, min_cases: int = 2) -> list[tuple[str, int]]:
    """Keyed names of `role` that appear in several cases, most frequent first."""
    rows = db.session.execute(
        select(CaseParty.name_key, func.count(CaseParty.case_id))
        .where(CaseParty.role == role)
        .group_by(CaseParty.name_key)
        .having(func.count(CaseParty.case_id) >= min_cases)
        .order_by(func.count(CaseParty.case_id).desc())
    ).all()
    return [(key, count) for key, count in rows]


# -- statutory clocks ----------------------------------------------------------------


def add_clock(actor: StaffUser, case: Case, kind: str, event_day: date) -> CaseClock:
    """A deadline at risk in this case, with a reminder as it comes close."""
    if kind not in CLOCK_PERIODS:
        raise TriageError(_l("Unknown kind of deadline."))
    clock = CaseClock(case_id=case.id, kind=kind, due_at=clock_due(kind, event_day))
    db.session.add(clock)
    db.session.flush()
    audit.record(
        "case.clock_added",
        case_id=case.id,
        actor_id=actor.id,
        detail={"clock_id": clock.id, "kind": kind},
    )
    return clock


def complete_clock(actor: StaffUser, case: Case, clock_id: int) -> CaseClock:
    clock = db.session.get(CaseClock, clock_id)
    if clock is None or clock.case_id != case.id:
        raise TriageError(_l("No such deadline on this case."))
    if clock.done_at is None:
        clock.done_at = utcnow()
        db.session.flush()
        audit.record(
            "case.clock_done",
            case_id=case.id,
            actor_id=actor.id,
            detail={"clock_id": clock.id, "kind": clock.kind},
        )
    return clock


# -- red flags at intake -------------------------------------------------------------


def apply_red_flags(case: Case, text: str | None, *, actor_id: int | None = None) -> RedFlags:
    """Scan what the worker wrote; raise the case's urgency if it calls for it.

    Called for the narrative when a case opens and for every message that
    joins it, on every channel. Raising to P0 pages the on-call caseworkers.
    Never lowers an urgency. Flushes and audits; the caller commits.
    """
    flags = scan(text)
    if not flags:
        return flags
    new_urgency = more_urgent(case.urgency, flags.urgency)
    raised = new_urgency != case.urgency
    detail: dict[str, object] = {"signals": sorted(flags.signals)}
    if raised:
        detail["urgency"] = [case.urgency, new_urgency]
        case.due_at = next_due(case, new_urgency, utcnow())
        case.urgency = new_urgency
        case.urgency_reason = "red_flag"
    db.session.flush()
    audit.record("case.red_flag", case_id=case.id, actor_id=actor_id, detail=detail)
    if raised and new_urgency == "P0":
        page_on_call(case)
    return flags


# The page says nothing about the case: a phone's lock screen shows it.
PAGE_SUBJECT = N_("Urgent case")
PAGE_TEXT = N_("An emergency case needs a caseworker now. Open it here: %(link)s")


def on_call_staff() -> list[StaffUser]:
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.on_call.is_(True))
            .where(StaffUser.disabled.is_(False))
            .where(StaffUser.role.in_((Role.CASEWORKER, Role.ADMIN)))
            .order_by(StaffUser.id)
        )
    )


def case_link(case: Case) -> str:
    """The staff URL of a case, absolute, for pages and reminders.

    Built by hand rather than with url_for: reminders run from the CLI and
    jobs, outside any request. The path is part of the public contract.
    """
    from grievance.cases.services import format_code

    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/staff/cases/{format_code(case.reference)}"


def page_on_call(case: Case) -> int:
    """E-mail every on-call caseworker through the outbox; returns how many.

    Delivery starts after the commit, like every outbound message. The text
    is neutral: no category, no language, no word of the worker's.
    """
    staff = on_call_staff()
    if not staff or case.data_key is None:
        return 0
    body = in_staff_languages(PAGE_TEXT, link=case_link(case))
    subject = in_staff_languages(PAGE_SUBJECT, joiner=" / ")
    for member in staff:
        outbox.queue_email(
            recipient=member.email,
            subject=subject,
            body=body,
            purpose="page",
            data_key=case.data_key,
            case_id=case.id,
        )
    audit.record("case.paged", case_id=case.id, detail={"staff": len(staff)})
    return len(staff)

"""Escalation to a business grievance platform (JaCER), apart from referrals.

JaCER is not a referral desk: it forwards a complaint about one of its
member companies (or their suppliers) to that company and monitors how the
company handles it (DOMAIN.md). So an escalation is its own record with its
own status, filed and tracked by the caseworker; no advisor portal, no
partner access.

Guarantees
----------
* Escalating means the complaint reaches the company, so it needs the
  worker's active consent to contact the employer or an intermediary, both
  to create it and to mark it submitted.
* Status moves only along `TRANSITIONS`; each move is an audit event with
  the two status codes (the company's name and the texts are sealed and
  never in the audit).
"""

from __future__ import annotations

from sqlalchemy import select

from grievance.cases import audit, consent
from grievance.cases.models import Case, ConsentScope
from grievance.cases.referral_models import Escalation, EscalationStatus
from grievance.datakeys import utcnow
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l
from grievance.staff.models import StaffUser

PLATFORMS = {
    "jacer": _l("JaCER (Japan Center for Engagement and Remedy on Business and Human Rights)"),
}
S = EscalationStatus
STATUS_LABELS = {
    S.DRAFT: _l("Draft, not yet filed"),
    S.SUBMITTED: _l("Filed with the platform"),
    S.FORWARDED: _l("Forwarded to the member company"),
    S.COMPANY_RESPONDED: _l("The company responded"),
    S.MONITORING: _l("Platform monitoring the remedy"),
    S.CLOSED: _l("Closed"),
    S.REJECTED: _l("Not taken up by the platform"),
}
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CLOSED}),
    S.SUBMITTED: frozenset({S.FORWARDED, S.REJECTED, S.CLOSED}),
    S.FORWARDED: frozenset({S.COMPANY_RESPONDED, S.MONITORING, S.CLOSED}),
    S.COMPANY_RESPONDED: frozenset({S.MONITORING, S.CLOSED}),
    S.MONITORING: frozenset({S.COMPANY_RESPONDED, S.CLOSED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
}
ENDED = frozenset({S.CLOSED, S.REJECTED})
MAX_TEXT = 5000


class EscalationError(Exception):
    """Base of the escalation errors; `message` can be shown to staff."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


def platform_label(code: str) -> str:
    return str(PLATFORMS.get(code, code))


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))  # type: ignore[call-overload]


def next_statuses(escalation: Escalation) -> list[str]:
    return [s.value for s in S if s in TRANSITIONS.get(escalation.status, frozenset())]


def escalations_for(case: Case) -> list[Escalation]:
    return list(
        db.session.scalars(
            select(Escalation).where(Escalation.case_id == case.id).order_by(Escalation.id)
        )
    )


def _employer_consent(case: Case) -> int:
    granted = consent.covering(case, ConsentScope.CONTACT_EMPLOYER)
    if granted is None:
        raise EscalationError(
            _l(
                "The platform passes the complaint to the company: record the worker's"
                " consent to contact the employer first."
            )
        )
    return granted.id


def _text(value: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise EscalationError(_l("Name the member company."))
    if len(text) > MAX_TEXT:
        raise EscalationError(_l("At most %(n)s characters.", n=MAX_TEXT))
    return text


def create_escalation(
    actor: StaffUser, case: Case, platform: str, *, company: str, summary: str = ""
) -> Escalation:
    """Prepare an escalation (status draft); sealed under the case's key."""
    if platform not in PLATFORMS:
        raise EscalationError(_l("Choose a platform from the list."))
    consent_id = _employer_consent(case)
    escalation = Escalation(
        data_key=case.data_key,
        case_id=case.id,
        platform=platform,
        status=S.DRAFT,
        consent_id=consent_id,
        created_by_id=actor.id,
    )
    escalation.company = _text(company, required=True)
    escalation.summary = _text(summary, required=False) or None
    db.session.add(escalation)
    db.session.flush()
    audit.record(
        "escalation.created",
        case_id=case.id,
        actor_id=actor.id,
        detail={"escalation_id": escalation.id, "platform": platform},
    )
    return escalation


def update_escalation(
    actor: StaffUser,
    escalation: Escalation,
    status: str,
    *,
    external_ref: str | None = None,
    note: str = "",
) -> Escalation:
    """Move to `status` (one of `next_statuses`), with the platform's number and a note."""
    if status not in TRANSITIONS.get(escalation.status, frozenset()):
        raise EscalationError(_l("This escalation cannot move to that status now."))
    if status == S.SUBMITTED:
        escalation.consent_id = _employer_consent(escalation.case)
    ref = (external_ref or "").strip()
    if len(ref) > 64:
        raise EscalationError(_l("At most %(n)s characters.", n=64))
    before = escalation.status
    now = utcnow()
    escalation.status = status
    escalation.status_changed_at = now
    if ref:
        escalation.external_ref = ref
    if note.strip():
        escalation.note = _text(note, required=False)
    if status == S.SUBMITTED:
        escalation.submitted_at = now
    if status in ENDED:
        escalation.closed_at = now
    db.session.flush()
    audit.record(
        "escalation.status",
        case_id=escalation.case_id,
        actor_id=actor.id,
        detail={"escalation_id": escalation.id, "from": before, "to": status},
    )
    return escalation


def escalation_for_case(case: Case, escalation_id: int) -> Escalation | None:
    escalation = db.session.get(Escalation, escalation_id)
    if escalation is None or escalation.case_id != case.id:
        return None
    return escalation

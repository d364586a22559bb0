"""Referrals: a case offered to one partner, within the worker's consent.

The caseworker picks a partner and what to share (narrative, identity,
contact, attachments). The advisor at that partner accepts or declines,
asks the caseworker questions, posts updates and records the outcome.

Guarantees
----------
* A referral shares only fields the worker's active consents cover for
  that partner; without identity consent it is anonymous. A body flagged
  for immigration exposure needs the worker's consent to such sharing and
  the caseworker's explicit acknowledgement of the warning.
* An advisor reaches only referrals to their own partner: any other id is
  `ReferralNotFound` (the views answer 404, the same as a missing id).
* What an advisor sees is recomputed from the consents on every request
  (`advisor_view`); a withdrawal removes access at once. Every advisor view
  is an audit event naming the fields shown, never their content.
* Partners are told by e-mail (and SMS if they asked) through the outbox,
  with a link and no case data.

Clocks: the partner answers within 3 working days (P0 and P1: the same day,
Japan time); the worker is checked on 7 days after the first referral and
then every 14 days while the case is open (`CaseClock` rows of kind
`worker_check_in`). `due_items` lists what is overdue for the queue and for
reminders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app, g
from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case

from grievance import i18n, reference_cache
from grievance.cases import audit, casework, consent, routing, workflow
from grievance.cases.deadlines import JST, add_working_days
from grievance.cases.messaging import send_to_worker
from grievance.cases.models import (
    Attachment,
    Case,
    CaseClock,
    CaseStatus,
    Partner,
    Referral,
    ReferralStatus,
    ReferralUpdate,
)
from grievance.cases.partners import active_directory, profile, sms_contact
from grievance.cases.worker_words import texts
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l
from grievance.notify import outbox
from grievance.staff.models import Role, StaffUser

CHECK_IN = "worker_check_in"
FIRST_CHECK_IN = timedelta(days=7)
NEXT_CHECK_IN = timedelta(days=14)
ANSWER_WORKING_DAYS = 3
SAME_DAY_URGENCIES = frozenset({"P0", "P1"})
MAX_TEXT = 5000

LIVE = (ReferralStatus.OFFERED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS)
ENDED = (ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN, ReferralStatus.COMPLETED)

STATUS_LABELS = {
    "offered": _l("Offered, waiting for an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
}
DECLINE_REASONS = {
    "out_of_scope": _l("Outside what we handle"),
    "no_capacity": _l("No capacity at the moment"),
    "not_eligible": _l("The worker is not eligible"),
    "conflict": _l("Conflict of interest"),
    "needs_identity": _l("We need to know who the worker is"),
    "other": _l("Other (see the note)"),
}
UPDATE_KINDS = {
    "accept": _l("Accepted"),
    "decline": _l("Declined"),
    "update": _l("Update"),
    "question": _l("Question to the caseworker"),
    "answer": _l("Message from the caseworker"),
    "outcome": _l("Outcome"),
    "consent": _l("Consent withdrawn"),
    "withdraw": _l("Referral withdrawn"),
}


class ReferralError(Exception):
    """Base of the referral errors; `message` can be shown to staff."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


class ReferralNotFound(ReferralError):  # noqa: N818 - answers 404, like a missing page
    """No such referral for this advisor (another partner's looks the same)."""


class ReferralNotAllowed(ReferralError):  # noqa: N818 - names the refusal
    """The referral would break a rule (consent, eligibility, warning)."""


class ImmigrationWarningNotAcknowledged(ReferralNotAllowed):
    pass


class WrongReferralState(ReferralError):  # noqa: N818
    pass


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def decline_label(code: str | None) -> str:
    return str(DECLINE_REASONS.get(code or "", code or ""))


def update_label(code: str) -> str:
    return str(UPDATE_KINDS.get(code, code))


# -- clocks -----------------------------------------------------------------------


def respond_by(urgency: str, start: datetime) -> datetime:
    """When the partner's answer is due: 3 working days, P0/P1 the same day (JST)."""
    if urgency in SAME_DAY_URGENCIES:
        local = start.astimezone(JST)
        end_of_day = datetime.combine(local.date(), time(23, 59), tzinfo=JST)
        return end_of_day.astimezone(start.tzinfo)
    return add_working_days(start, ANSWER_WORKING_DAYS)


def _open_check_in(case: Case) -> CaseClock | None:
    return next((c for c in case.clocks if c.kind == CHECK_IN and c.done_at is None), None)


def _schedule_check_in(case: Case, due: datetime) -> CaseClock:
    clock = CaseClock(case_id=case.id, kind=CHECK_IN, due_at=due)
    case.clocks.append(clock)
    db.session.flush()
    return clock


def finish_check_ins(case: Case) -> None:
    """No more check-ins (the case is resolved or closed)."""
    now = utcnow()
    for clock in case.clocks:
        if clock.kind == CHECK_IN and clock.done_at is None:
            clock.done_at = now
    db.session.flush()


def record_check_in(actor: StaffUser, case: Case, *, send_message: bool) -> CaseClock | None:
    """The caseworker checked on the worker; the next check-in is due in 14 days.

    With `send_message` the neutral check-in text goes to the worker on their
    channel (through the case's messaging and its safe-contact rules).
    Returns the next clock (None once the case is no longer open).
    """
    now = utcnow()
    clock = _open_check_in(case)
    met = as_utc(clock.due_at) if clock is not None else None
    if clock is not None:
        clock.done_at = now
    if send_message:
        send_to_worker(case, texts().check_in_message(case.language), actor, purpose="check_in")
    else:
        # Checked on another way (a call, a visit): still an update to the worker.
        case.last_update_to_worker_at = now
    audit.record(
        "case.check_in",
        case_id=case.id,
        actor_id=actor.id,
        detail={"message": send_message},
    )
    if case.status not in workflow.OPEN_STATES:
        db.session.flush()
        return None
    following = _schedule_check_in(case, now + NEXT_CHECK_IN)
    _release_due(case, met)
    _pull_due(case, as_utc(following.due_at))
    return following


# -- the case's state -------------------------------------------------------------


def move_case(
    case: Case, action: str, actor: StaffUser | None, *, closure_reason: str | None = None
) -> bool:
    """Apply a workflow action if the case is in a state that allows it.

    Staff actions go through the workspace's `casework.transition_case` (its
    timestamps, review rule and audit event); actions with no staff member
    behind them (the worker's feedback or reopening, an advisor's decline)
    apply the same workflow decision here. Returns False, changing nothing,
    when the action does not apply or waits for an admin's review:
    referring a case that is already referred is not an error.
    """
    before = case.status
    try:
        if actor is not None and actor.role in (Role.CASEWORKER, Role.ADMIN):
            decision = casework.transition_case(actor, case, action, closure_reason)
            return not decision.needs_review and case.status != before
        decision = workflow.decide(
            case.status,
            action,
            urgency=case.urgency,
            actor_role=Role.CASEWORKER,
            review_state=case.review_state,
            closure_reason=closure_reason,
        )
    except workflow.IllegalTransitionError:
        return False
    if decision.needs_review:
        return False
    case.status = decision.status
    if not decision.keep_review:
        case.review_state = decision.review_state
    if decision.closure_reason:
        case.closure_reason = decision.closure_reason
    db.session.flush()
    audit.record(
        "case.transition",
        case_id=case.id,
        detail={"action": action, "from": before, "to": case.status},
    )
    return True


# -- the queue's due time -----------------------------------------------------------
#
# The queue orders and marks cases by `Case.due_at`: the next thing due.
# After the first contact that is the next update to the worker (14 days
# after the last one, see casework). Referral clocks that fall earlier (the
# partner's answer, the check-in 7 days after referral) pull it forward, so
# they show, and turn overdue, in the queue; once met, the due time goes
# back to the next one.


def _referral_deadlines(case: Case) -> list[datetime]:
    found = [
        as_utc(r.respond_by)
        for r in case.referrals
        if r.status == ReferralStatus.OFFERED and r.respond_by is not None
    ]
    clock = _open_check_in(case)
    if clock is not None:
        found.append(as_utc(clock.due_at))
    return found


def _pull_due(case: Case, when: datetime) -> None:
    if case.due_at is None or as_utc(case.due_at) > when:
        case.due_at = when


def _release_due(case: Case, met: datetime | None) -> None:
    """A referral deadline was met: if it was the case's due time, move on."""
    if met is None or case.due_at is None or case.status not in workflow.OPEN_STATES:
        return
    if abs(as_utc(case.due_at) - as_utc(met)) > timedelta(seconds=1):
        return  # the due time is someone else's (first contact, triage)
    last = case.last_update_to_worker_at or case.acknowledged_at or case.created_at
    candidates = [*_referral_deadlines(case), as_utc(last) + casework.FOLLOW_UP_INTERVAL]
    case.due_at = min(candidates)


# -- creating a referral --------------------------------------------------------------


def suggestions(case: Case, categories: Sequence[str], limit: int = 8) -> list[routing.Suggestion]:
    """The active partners ranked for the case page, with reasons and warnings.

    `categories` are the case's category codes (the case page reads them
    with the case); the directory and each category's usual kinds of body
    come from the reference cache.
    """
    from grievance.cases.models import Category

    def load_types() -> dict[str, tuple[str, ...]]:
        return {
            code: tuple(t for t in referral_types.split(";") if t)
            for code, referral_types in db.session.execute(
                select(Category.code, Category.referral_types)
            )
        }

    types = reference_cache.cached("referral-types", load_types)
    facts = routing.CaseProfile(
        categories=tuple(categories),
        prefecture=case.prefecture,
        language=case.language,
        residence_status=case.residence_status,
        urgency=case.urgency,
    )
    directory = active_directory()
    identity = consent.identity_partner_ids(case)
    referred = frozenset(r.partner_id for r in case.referrals if r.status in LIVE)

    def ranked() -> tuple[tuple[routing.PartnerProfile, ...], list[routing.Suggestion]]:
        found = routing.rank(
            facts,
            directory,
            referral_types=types,
            identity_partner_ids=identity,
            referred_partner_ids=referred,
            limit=limit,
        )
        return directory, found

    # Ranked once per kind of case while the directory is kept: the ranking
    # (25 partners weighed) was a sixteenth of the case page, the same for
    # every case with the same categories, place, language, status and
    # urgency. Kept with the directory it was ranked from, and ranked again
    # when that is reloaded (reference_cache).
    key = ("partner-suggestions", facts, identity, referred, limit)
    kept_directory, found = reference_cache.cached(key, ranked)
    if kept_directory is not directory:
        reference_cache.forget_one(key)
        kept_directory, found = reference_cache.cached(key, ranked)
    return list(found)


def create_referral(
    actor: StaffUser,
    case: Case,
    partner_id: int,
    fields: list[str],
    *,
    acknowledge_exposure: bool = False,
) -> Referral:
    """Offer the case to one partner, sharing `fields` (checked against consent)."""
    partner = db.session.get(Partner, partner_id)
    if partner is None or not partner.active:
        raise ReferralNotAllowed(_l("Choose an active partner from the directory."))
    if case.status not in workflow.OPEN_STATES:
        raise ReferralNotAllowed(_l("Only an open case can be referred."))
    unknown = [f for f in fields if f not in consent.FIELDS]
    if unknown:
        raise ReferralNotAllowed(_l("Choose what to share from the list."))
    if routing.is_eligible(profile(partner), case.residence_status) is False:
        raise ReferralNotAllowed(
            _l("This partner does not accept workers with this residence status.")
        )
    if partner.immigration_exposure:
        if consent.covering(case, "immigration_bodies", partner.id) is None:
            raise ReferralNotAllowed(
                _l(
                    "This body may inform immigration. Record the worker's consent to share"
                    " with such bodies first."
                )
            )
        if not acknowledge_exposure:
            raise ImmigrationWarningNotAcknowledged(
                _l("Confirm that the worker knows this body may inform immigration.")
            )
    allowed = consent.covered_fields(case, partner)
    outside = sorted(set(fields) - allowed)
    if outside:
        raise ReferralNotAllowed(
            _l(
                "The worker's consent does not cover: %(fields)s",
                fields=", ".join(consent.field_label(f) for f in outside),
            )
        )
    anonymous = "identity" not in fields
    if anonymous and not routing.accepts_anonymous(profile(partner)):
        raise ReferralNotAllowed(
            _l("This partner does not take anonymous referrals: identity consent is needed.")
        )
    if any(r.partner_id == partner.id and r.status in LIVE for r in case.referrals):
        raise ReferralNotAllowed(_l("The case is already referred to this partner."))
    now = utcnow()
    basis = consent.covering(case, "share_identity", partner.id) or consent.covering(
        case, "share_narrative", partner.id
    )
    referral = Referral(
        case_id=case.id,
        partner_id=partner.id,
        consent_id=basis.id if basis else None,
        shared_fields=sorted(set(fields), key=consent.FIELDS.index),
        status=ReferralStatus.OFFERED,
        created_at=now,
        respond_by=respond_by(case.urgency, now),
        anonymous=anonymous,
    )
    case.referrals.append(referral)
    db.session.flush()
    audit.record(
        "referral.created",
        case_id=case.id,
        actor_id=actor.id,
        detail={
            "referral_id": referral.id,
            "partner_id": partner.id,
            "fields": referral.shared_fields,
            "anonymous": anonymous,
            "exposure_acknowledged": bool(partner.immigration_exposure and acknowledge_exposure),
        },
    )
    if case.status in (CaseStatus.NEW,):
        move_case(case, workflow.Action.START, actor)
    move_case(case, workflow.Action.REFER, actor)
    if _open_check_in(case) is None:
        _schedule_check_in(case, now + FIRST_CHECK_IN)
    assert referral.respond_by is not None
    _pull_due(case, referral.respond_by)
    notify_partner(referral, "new")
    return referral


def withdraw_referral(actor: StaffUser, referral: Referral) -> Referral:
    """The caseworker takes the case back from the partner."""
    if referral.status in ENDED:
        raise WrongReferralState(_l("This referral has already ended."))
    referral.status = ReferralStatus.WITHDRAWN
    _release_due(referral.case, referral.respond_by)
    _add_update(referral, "caseworker", actor, "withdraw", "")
    audit.record(
        "referral.withdrawn",
        case_id=referral.case_id,
        actor_id=actor.id,
        detail={"referral_id": referral.id},
    )
    _resume_if_unreferred(referral.case, actor)
    notify_partner(referral, "changed")
    return referral


def answer_advisor(actor: StaffUser, referral: Referral, body: str) -> ReferralUpdate:
    """The caseworker writes to the advisor (an answer to a question, or news)."""
    text = _clean(body)
    if referral.status in (ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN):
        raise WrongReferralState(_l("This referral has ended."))
    update = _add_update(referral, "caseworker", actor, "answer", text)
    audit.record(
        "referral.answered",
        case_id=referral.case_id,
        actor_id=actor.id,
        detail={"referral_id": referral.id},
    )
    notify_partner(referral, "changed")
    return update


def _resume_if_unreferred(case: Case, actor: StaffUser | None) -> None:
    if case.status == CaseStatus.REFERRED and not any(
        r.status in (*LIVE, ReferralStatus.COMPLETED) for r in case.referrals
    ):
        move_case(case, workflow.Action.RESUME, actor)


# -- telling the partner ----------------------------------------------------------


@contextmanager
def _staff_language(code: str) -> Iterator[None]:
    previous = g.get("ui_language")
    g.ui_language = i18n.BY_CODE[code]
    try:
        yield
    finally:
        if previous is None:
            g.pop("ui_language", None)
        else:
            g.ui_language = previous


def advisor_link(referral: Referral) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/advisor/referrals/{referral.id}"


def _partner_text(kind: str, link: str) -> tuple[str, str]:
    """(subject, body) in Japanese then English; a link and no case data."""
    gettext = i18n.staff_domain.gettext
    subjects, bodies = [], []
    for code in i18n.STAFF_LANGUAGES:
        with _staff_language(code):
            if kind == "new":
                subjects.append(gettext("New referral"))
                bodies.append(
                    gettext("A new referral is waiting for your answer. Log in to see it:")
                )
            elif kind == "reminder":
                subjects.append(gettext("A referral is waiting for your answer"))
                bodies.append(
                    gettext("The answer to a referral is overdue. Please log in to answer it:")
                )
            else:
                subjects.append(gettext("News on a referral"))
                bodies.append(gettext("There is news on a referral. Log in to see it:"))
    body = "\n\n".join(f"{text}\n{link}" for text in bodies)
    return " / ".join(subjects), body


def notify_partner(referral: Referral, kind: str) -> int:
    """Queue the partner's alert(s) in this transaction; how many were queued."""
    partner = referral.partner or db.session.get(Partner, referral.partner_id)
    case = referral.case
    if partner is None or case.data_key is None:
        return 0
    subject, body = _partner_text(kind, advisor_link(referral))
    queued = 0
    if partner.notify_email:
        outbox.queue_email(
            recipient=partner.notify_email,
            subject=subject,
            body=body,
            purpose="referral",
            data_key=case.data_key,
            case_id=case.id,
        )
        queued += 1
    contact = sms_contact(partner)
    if contact is not None and contact.phone:
        outbox.queue_message(
            channel="sms",
            recipient=contact.phone,
            body=f"{subject}\n{advisor_link(referral)}",
            purpose="referral",
            data_key=case.data_key,
            case_id=case.id,
        )
        queued += 1
    return queued


def remind_overdue_partners(now: datetime | None = None) -> int:
    """One reminder per overdue, unanswered referral; returns how many (caller commits)."""
    now = now or utcnow()
    overdue = db.session.scalars(
        select(Referral).where(
            Referral.status == ReferralStatus.OFFERED,
            Referral.respond_by < now,
            Referral.reminded_at.is_(None),
        )
    ).all()
    for referral in overdue:
        referral.reminded_at = now
        notify_partner(referral, "reminder")
        audit.record(
            "referral.reminded", case_id=referral.case_id, detail={"referral_id": referral.id}
        )
    db.session.flush()
    return len(overdue)


# -- the advisor's side -----------------------------------------------------------


def _require_advisor(advisor: StaffUser) -> int:
    if advisor.role != Role.ADVISOR or advisor.partner_id is None:
        raise ReferralNotFound(_l("No such referral."))
    return advisor.partner_id


def advisor_referrals(advisor: StaffUser) -> list[Referral]:
    """The referrals to the advisor's own partner, unanswered first; audited."""
    partner_id = _require_advisor(advisor)
    unanswered_first = sql_case((Referral.status == ReferralStatus.OFFERED, 0), else_=1)
    referrals = list(
        db.session.scalars(
            select(Referral)
            .where(Referral.partner_id == partner_id)
            .order_by(unanswered_first, Referral.created_at.desc())
            .limit(200)
        )
    )
    audit.record(
        "advisor.referrals_listed",
        actor_id=advisor.id,
        detail={"partner_id": partner_id, "count": len(referrals)},
    )
    return referrals


def referral_for_advisor(advisor: StaffUser, referral_id: int) -> Referral:
    """The referral if it went to the advisor's partner; else ReferralNotFound."""
    partner_id = _require_advisor(advisor)
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.partner_id != partner_id:
        raise ReferralNotFound(_l("No such referral."))
    return referral


@dataclass
class AdvisorView:
    """What an advisor may see of one referral, decided now, field by field."""

    referral: Referral
    fields: tuple[str, ...]
    urgency: str
    categories: list[tuple[str, str]]
    language: str
    prefecture: str | None
    residence_status: str | None
    industry: str | None
    narrative: str | None = None
    identity: dict[str, str] = field(default_factory=dict)
    contact: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    updates: list[ReferralUpdate] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.referral.status in (ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN)


def visible_fields(referral: Referral) -> tuple[str, ...]:
    """Fields chosen at referral time and still covered by consent now."""
    if referral.status in (ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN):
        return ()
    partner = referral.partner or db.session.get(Partner, referral.partner_id)
    assert partner is not None
    allowed = consent.covered_fields(referral.case, partner)
    return tuple(f for f in referral.shared_fields if f in allowed)


def advisor_view(advisor: StaffUser, referral_id: int) -> AdvisorView:
    """Open one referral for its partner's advisor; writes the audit event."""
    referral = referral_for_advisor(advisor, referral_id)
    case = referral.case
    shown = visible_fields(referral)
    ended = referral.status in (ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN)
    view = AdvisorView(
        referral=referral,
        fields=shown,
        urgency=case.urgency,
        categories=[] if ended else [(c.code, c.name) for c in case.categories],
        language=case.language,
        prefecture=None if ended else case.prefecture,
        residence_status=None if ended else case.residence_status,
        industry=None if ended else case.industry,
        updates=list(referral.updates),
    )
    if "narrative" in shown:
        view.narrative = case.narrative
    if "identity" in shown:
        wishes = json.loads(case.contact) if case.contact else {}
        if wishes.get("name"):
            view.identity["name"] = wishes["name"]
        if case.intermediaries:
            view.identity.update(json.loads(case.intermediaries))
    if "contact" in shown:
        wishes = json.loads(case.contact) if case.contact else {}
        view.contact = {
            "method": case.contact_method,
            "phone": wishes.get("phone"),
            "email": wishes.get("email"),
            "safe_windows": wishes.get("safe_windows") or [],
            "own_phone": wishes.get("own_phone"),
        }
    if "attachments" in shown:
        view.attachments = [
            {"uid": a.uid, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in case.attachments
        ]
    audit.record(
        "referral.viewed",
        case_id=case.id,
        actor_id=advisor.id,
        detail={"referral_id": referral.id, "fields": list(shown)},
    )
    return view


def advisor_attachment(advisor: StaffUser, referral_id: int, uid: str) -> Attachment:
    """One attachment, only if the referral shares attachments now; audited."""
    referral = referral_for_advisor(advisor, referral_id)
    if "attachments" not in visible_fields(referral):
        raise ReferralNotFound(_l("No such attachment."))
    attachment = db.session.scalar(
        select(Attachment).where(Attachment.uid == uid, Attachment.case_id == referral.case_id)
    )
    if attachment is None:
        raise ReferralNotFound(_l("No such attachment."))
    audit.record(
        "referral.attachment_viewed",
        case_id=referral.case_id,
        actor_id=advisor.id,
        detail={"referral_id": referral.id, "attachment_id": attachment.id},
    )
    return attachment


def _clean(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise ReferralError(_l("Write something first."))
    if len(text) > MAX_TEXT:
        raise ReferralError(_l("At most %(n)s characters.", n=MAX_TEXT))
    return text


def _add_update(
    referral: Referral, author_kind: str, actor: StaffUser | None, kind: str, text: str
) -> ReferralUpdate:
    update = ReferralUpdate(
        data_key=referral.case.data_key,
        author_kind=author_kind,
        author_staff_id=actor.id if actor else None,
        kind=kind,
        created_at=utcnow(),
    )
    update.body = text
    referral.updates.append(update)
    db.session.flush()
    return update


def _advisor_event(kind: str, advisor: StaffUser, referral: Referral, **detail: Any) -> None:
    audit.record(
        kind,
        case_id=referral.case_id,
        actor_id=advisor.id,
        detail={"referral_id": referral.id, **detail},
    )


def accept_referral(advisor: StaffUser, referral_id: int) -> Referral:
    referral = referral_for_advisor(advisor, referral_id)
    if referral.status != ReferralStatus.OFFERED:
        raise WrongReferralState(_l("Only a referral waiting for an answer can be accepted."))
    referral.status = ReferralStatus.ACCEPTED
    referral.responded_at = utcnow()
    _release_due(referral.case, referral.respond_by)
    _add_update(referral, "advisor", advisor, "accept", "")
    _advisor_event("referral.accepted", advisor, referral)
    return referral


def decline_referral(advisor: StaffUser, referral_id: int, reason: str, note: str = "") -> Referral:
    referral = referral_for_advisor(advisor, referral_id)
    if reason not in DECLINE_REASONS:
        raise ReferralError(_l("Choose a reason."))
    if referral.status not in (ReferralStatus.OFFERED, ReferralStatus.ACCEPTED):
        raise WrongReferralState(_l("This referral can no longer be declined."))
    if len(note) > MAX_TEXT:
        raise ReferralError(_l("At most %(n)s characters.", n=MAX_TEXT))
    referral.status = ReferralStatus.DECLINED
    referral.decline_reason = reason
    referral.responded_at = referral.responded_at or utcnow()
    _release_due(referral.case, referral.respond_by)
    _add_update(referral, "advisor", advisor, "decline", note.strip())
    _advisor_event("referral.declined", advisor, referral, reason=reason)
    _resume_if_unreferred(referral.case, None)
    return referral


def ask_caseworker(advisor: StaffUser, referral_id: int, body: str) -> ReferralUpdate:
    referral = referral_for_advisor(advisor, referral_id)
    if referral.status in ENDED:
        raise WrongReferralState(_l("This referral has ended."))
    update = _add_update(referral, "advisor", advisor, "question", _clean(body))
    _advisor_event("referral.question", advisor, referral)
    return update


def post_update(advisor: StaffUser, referral_id: int, body: str) -> ReferralUpdate:
    referral = referral_for_advisor(advisor, referral_id)
    if referral.status not in (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS):
        raise WrongReferralState(_l("Accept the referral before posting updates."))
    update = _add_update(referral, "advisor", advisor, "update", _clean(body))
    referral.status = ReferralStatus.IN_PROGRESS
    _advisor_event("referral.updated", advisor, referral)
    return update


def record_referral_outcome(
    advisor: StaffUser,
    referral_id: int,
    outcome: str,
    *,
    amount_yen: int | None = None,
    note: str = "",
) -> Referral:
    """The advisor's result; the caseworker then resolves the case with the worker."""
    from grievance.cases.resolution import OUTCOMES, check_outcome

    referral = referral_for_advisor(advisor, referral_id)
    if referral.status not in (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS):
        raise WrongReferralState(_l("Accept the referral before recording its outcome."))
    check_outcome(outcome, amount_yen)
    assert outcome in OUTCOMES
    if len(note) > MAX_TEXT:
        raise ReferralError(_l("At most %(n)s characters.", n=MAX_TEXT))
    referral.status = ReferralStatus.COMPLETED
    referral.outcome = outcome
    referral.outcome_amount_yen = amount_yen if outcome == "wages_recovered" else None
    referral.completed_at = utcnow()
    _add_update(referral, "advisor", advisor, "outcome", note.strip())
    _advisor_event("referral.outcome", advisor, referral, outcome=outcome)
    return referral


# -- due and overdue --------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    """Something a caseworker must chase: a partner's answer, a check-in, a question."""

    kind: str  # partner_answer | worker_check_in | advisor_question
    case_id: int
    reference: str
    urgency: str
    due_at: datetime
    referral_id: int | None = None
    partner_name: str | None = None

    @property
    def overdue(self) -> bool:
        return as_utc(self.due_at) < utcnow()


DUE_LABELS = {
    "partner_answer": _l("Partner's answer overdue"),
    "worker_check_in": _l("Check in with the worker"),
    "advisor_question": _l("Advisor's question waiting"),
}


def due_label(code: str) -> str:
    return str(DUE_LABELS.get(code, code))


def due_items(
    now: datetime | None = None,
    *,
    within: timedelta = timedelta(0),
    case_ids: list[int] | None = None,
    limit: int = 200,
) -> list[DueItem]:
    """Partner answers, worker check-ins and advisor questions due by `now + within`.

    Overdue items have `due_at` before now. Open cases only; oldest first.
    An advisor's question is due one working day after it was asked, if the
    caseworker has not written to the advisor since.
    """
    now = now or utcnow()
    horizon = now + within
    open_states = list(workflow.OPEN_STATES)
    items: list[DueItem] = []

    answers = (
        select(Referral, Case.reference, Case.urgency, Partner.name)
        .join(Case, Case.id == Referral.case_id)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(
            Referral.status == ReferralStatus.OFFERED,
            Referral.respond_by <= horizon,
            Case.status.in_(open_states),
        )
        .order_by(Referral.respond_by)
        .limit(limit)
    )
    if case_ids is not None:
        answers = answers.where(Referral.case_id.in_(case_ids))
    for referral, reference, urgency, name in db.session.execute(answers):
        assert referral.respond_by is not None
        items.append(
            DueItem(
                "partner_answer",
                referral.case_id,
                reference,
                urgency,
                as_utc(referral.respond_by),
                referral.id,
                name,
            )
        )

    check_ins = (
        select(CaseClock.case_id, CaseClock.due_at, Case.reference, Case.urgency)
        .join(Case, Case.id == CaseClock.case_id)
        .where(
            CaseClock.kind == CHECK_IN,
            CaseClock.done_at.is_(None),
            CaseClock.due_at <= horizon,
            Case.status.in_(open_states),
        )
        .order_by(CaseClock.due_at)
        .limit(limit)
    )
    if case_ids is not None:
        check_ins = check_ins.where(CaseClock.case_id.in_(case_ids))
    for case_id, due, reference, urgency in db.session.execute(check_ins):
        items.append(DueItem("worker_check_in", case_id, reference, urgency, as_utc(due)))

    # The latest question and the latest caseworker message, per referral.
    last_question = (
        select(ReferralUpdate.referral_id, func.max(ReferralUpdate.created_at).label("asked"))
        .where(ReferralUpdate.kind == "question")
        .group_by(ReferralUpdate.referral_id)
        .subquery()
    )
    last_answer = (
        select(ReferralUpdate.referral_id, func.max(ReferralUpdate.created_at).label("answered"))
        .where(ReferralUpdate.kind == "answer")
        .group_by(ReferralUpdate.referral_id)
        .subquery()
    )
    questions = (
        select(Referral, last_question.c.asked, Case.reference, Case.urgency, Partner.name)
        .join(last_question, last_question.c.referral_id == Referral.id)
        .outerjoin(last_answer, last_answer.c.referral_id == Referral.id)
        .join(Case, Case.id == Referral.case_id)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(
            Referral.status.in_(list(LIVE)),
            Case.status.in_(open_states),
            or_(
                last_answer.c.answered.is_(None),
                and_(last_answer.c.answered < last_question.c.asked),
            ),
        )
        .limit(limit)
    )
    if case_ids is not None:
        questions = questions.where(Referral.case_id.in_(case_ids))
    for referral, asked, reference, urgency, name in db.session.execute(questions):
        due = add_working_days(as_utc(asked), 1)
        if due <= horizon:
            items.append(
                DueItem(
                    "advisor_question",
                    referral.case_id,
                    reference,
                    urgency,
                    due,
                    referral.id,
                    name,
                )
            )
    items.sort(key=lambda item: item.due_at)
    return items[:limit]


def overdue_case_ids(case_ids: list[int], now: datetime | None = None) -> set[int]:
    """Which of these cases have an overdue referral item (for marking queue rows)."""
    if not case_ids:
        return set()
    return {item.case_id for item in due_items(now, case_ids=case_ids)}

"""Resolution, the worker's feedback and reopening.

The caseworker resolves a case with a coded outcome (and the amount in yen
when wages were recovered) and a sealed summary. The worker is told in
their language on their channel, and the feedback survey goes out with it
(on the follow-up page for web workers; as numbered questions by SMS or
WhatsApp). The worker's answers close the case; the worker can ask to
reopen it at any time after.

Guarantees
----------
* An outcome is one of `OUTCOMES`; "wages recovered" needs a positive
  amount, and no other outcome carries one.
* The summary and the worker's comment are sealed (`EncryptedField`); audit
  events carry the outcome code and the channel, never text.
* Feedback is taken once per survey; a reopened and resolved-again case
  asks again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from grievance.cases import audit, workflow
from grievance.cases.deadlines import due_at
from grievance.cases.messaging import send_to_worker
from grievance.cases.models import Case, CaseStatus, ContactMethod, ReferralStatus
from grievance.cases.referrals import finish_check_ins, move_case, withdraw_referral
from grievance.cases.worker_words import texts
from grievance.datakeys import utcnow
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l
from grievance.staff.models import StaffUser

OUTCOMES = {
    "wages_recovered": _l("Wages recovered"),
    "documents_returned": _l("Documents returned"),
    "transfer_achieved": _l("Transfer to a new employer achieved"),
    "apology": _l("Apology"),
    "policy_change": _l("Policy change at the workplace"),
    "referral_completed": _l("Referral completed"),
    "no_remedy": _l("No remedy"),
    "worker_withdrew": _l("The worker withdrew"),
}
SOLVED_ANSWERS = ("yes", "partly", "no")
MAX_SUMMARY = 5000
MAX_COMMENT = 2000
MAX_AMOUNT_YEN = 1_000_000_000
FEEDBACK_VIA = ("web", "sms", "whatsapp", "spoken")


class ResolutionError(Exception):
    """Base of the resolution errors; `message` can be shown to staff."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


class SurveyClosed(ResolutionError):  # noqa: N818 - names the situation
    """No survey is waiting for this case's answers."""


def outcome_label(code: str | None) -> str:
    return str(OUTCOMES.get(code or "", code or ""))


def check_outcome(outcome: str, amount_yen: int | None) -> None:
    """Raise ResolutionError unless the outcome code and amount belong together."""
    if outcome not in OUTCOMES:
        raise ResolutionError(_l("Choose an outcome from the list."))
    if outcome == "wages_recovered":
        if amount_yen is None or not 0 < amount_yen <= MAX_AMOUNT_YEN:
            raise ResolutionError(_l("Give the amount recovered, in yen."))
    elif amount_yen:
        raise ResolutionError(_l("An amount goes with “Wages recovered” only."))


def resolve_case(
    actor: StaffUser,
    case: Case,
    outcome: str,
    *,
    amount_yen: int | None = None,
    summary: str = "",
    by_dialogue: bool | None = None,
    gag_clause: bool = False,
) -> Case:
    """Record the outcome, tell the worker and send the survey (flushes, audits)."""
    check_outcome(outcome, amount_yen)
    if len(summary) > MAX_SUMMARY:
        raise ResolutionError(_l("At most %(n)s characters.", n=MAX_SUMMARY))
    if not move_case(case, workflow.Action.RESOLVE, actor):
        raise ResolutionError(_l("This case cannot be resolved in its current state."))
    now = utcnow()
    case.outcome = outcome
    case.outcome_amount_yen = amount_yen if outcome == "wages_recovered" else None
    case.outcome_summary = summary.strip() or None
    case.resolved_by_dialogue = by_dialogue
    case.gag_clause = gag_clause
    case.resolved_at = now
    # A new survey for this resolution: earlier answers belong to an earlier one.
    case.feedback_at = None
    case.survey_sent_at = now
    for referral in case.referrals:
        if referral.status == ReferralStatus.OFFERED:
            # Never answered: the partner is told it is no longer needed.
            withdraw_referral(actor, referral)
    finish_check_ins(case)
    db.session.flush()
    audit.record(
        "case.resolved",
        case_id=case.id,
        actor_id=actor.id,
        detail={"outcome": outcome, "by_dialogue": by_dialogue, "gag_clause": gag_clause},
    )
    notice = texts().outcome_notice(case.language, outcome, case.outcome_amount_yen)
    if case.contact_method in (ContactMethod.SMS, ContactMethod.WHATSAPP):
        survey = texts().survey_message(case.language)
    else:
        survey = texts().survey_web_notice(case.language)
    send_to_worker(case, f"{notice}\n\n{survey}", actor, purpose="outcome")
    return case


def close_case(actor: StaffUser | None, case: Case) -> bool:
    """Close a resolved case (reason "resolved"); False if it is not resolved."""
    if case.status != CaseStatus.RESOLVED:
        return False
    if not move_case(case, workflow.Action.CLOSE, actor, closure_reason="resolved"):
        return False
    case.closed_at = utcnow()
    finish_check_ins(case)
    db.session.flush()
    return True


# -- the worker's side ------------------------------------------------------------


@dataclass(frozen=True)
class WorkerOutcome:
    """The result as the follow-up page shows it, in the case's language."""

    outcome: str
    words: str
    amount_yen: int | None
    resolved_at: datetime | None
    survey_open: bool
    feedback_given: bool
    can_reopen: bool


def survey_open(case: Case) -> bool:
    return (
        case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        and case.survey_sent_at is not None
        and case.feedback_at is None
    )


def worker_outcome(case: Case) -> WorkerOutcome | None:
    """What the follow-up page shows once the case is resolved; None before."""
    if case.outcome is None or case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return None
    return WorkerOutcome(
        outcome=case.outcome,
        words=texts().outcome_words(case.language, case.outcome, case.outcome_amount_yen),
        amount_yen=case.outcome_amount_yen,
        resolved_at=case.resolved_at,
        survey_open=survey_open(case),
        feedback_given=case.feedback_at is not None,
        can_reopen=True,
    )


@dataclass(frozen=True)
class SurveyAnswers:
    solved: str  # yes | partly | no
    felt_safe: bool
    recommend: bool
    comment: str = ""


def record_feedback(case: Case, answers: SurveyAnswers, *, via: str) -> Case:
    """Store the worker's answers (comment sealed) and close a resolved case."""
    if not survey_open(case):
        raise SurveyClosed(_l("No survey is waiting for an answer."))
    if answers.solved not in SOLVED_ANSWERS or via not in FEEDBACK_VIA:
        raise ResolutionError(_l("Choose an answer for each question."))
    comment = answers.comment.strip()[:MAX_COMMENT]
    case.feedback_solved = answers.solved
    case.feedback_felt_safe = answers.felt_safe
    case.feedback_recommend = answers.recommend
    # One point per positive answer: 0 (all negative) to 3.
    case.feedback_score = (
        (answers.solved == "yes") + int(answers.felt_safe) + int(answers.recommend)
    )
    case.feedback_comment = comment or None
    case.feedback_at = utcnow()
    db.session.flush()
    audit.record("case.feedback", case_id=case.id, detail={"via": via})
    close_case(None, case)
    return case


# "1 2 1 thanks", "1,1,2", "１ １ １" (full-width digits are folded first).
_SURVEY_RE = re.compile(r"^\s*([1-3])[\s,.;/-]*([12])[\s,.;/-]*([12])(?:[\s,.;:/-]+(.*))?$", re.S)


def parse_survey_reply(text: str) -> SurveyAnswers | None:
    """Three numbers (and an optional comment) as answers; None if it is not that."""
    match = _SURVEY_RE.match(unicodedata.normalize("NFKC", text or ""))
    if match is None:
        return None
    solved = SOLVED_ANSWERS[int(match.group(1)) - 1]
    return SurveyAnswers(
        solved=solved,
        felt_safe=match.group(2) == "1",
        recommend=match.group(3) == "1",
        comment=(match.group(4) or "").strip(),
    )


def record_survey_reply(case: Case, text: str, *, via: str) -> bool:
    """For the gateway: an inbound SMS/WhatsApp text that answers the open survey.

    True when the text was the survey's answer (and is recorded); False
    when no survey is open or the text is not three numbers, so the
    message should be handled as an ordinary message.
    """
    if not survey_open(case):
        return False
    answers = parse_survey_reply(text)
    if answers is None:
        return False
    record_feedback(case, answers, via=via)
    return True


def request_reopen(case: Case, *, via: str) -> Case:
    """The worker says the problem is not solved: the case is open again.

    It goes back into the queue as in progress, with a fresh deadline for
    human contact by its urgency, and counts as unread for caseworkers.
    """
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        raise ResolutionError(_l("This case is open already."))
    if not move_case(case, workflow.Action.REOPEN, None):
        raise ResolutionError(_l("This case cannot be reopened."))
    now = utcnow()
    case.reopen_requested_at = now
    case.resolved_at = None
    case.closed_at = None
    case.closure_reason = None
    case.due_at = due_at(case.urgency, now)
    case.unread_count = (case.unread_count or 0) + 1
    db.session.flush()
    audit.record("case.reopen_requested", case_id=case.id, detail={"via": via})
    return case

"""Consent to share, per scope and per partner, given and withdrawn.

Scopes (DOMAIN.md, "how a case runs" step 4): share the narrative, share
identity and contact (always with one named partner), contact the employer
or an intermediary, share with bodies that may inform immigration. Each
consent records how it was given (`web_tick` on the follow-up page,
`message_yes` to a specific question by SMS or WhatsApp, `spoken` as
recorded by a caseworker), when, and by whom.

Guarantees
----------
* What an advisor may see is computed from the consents active *now*
  (`covered_fields`); nothing is copied at referral time, so a withdrawal
  removes access on the advisor's next request.
* Identity and contact are shared only under a consent that names the
  partner; a consent without a partner never covers identity.
* For a body flagged for immigration exposure nothing is shared unless the
  worker also agreed to share with such bodies.
* A YES reply answers exactly one open question (at most one is open per
  case), and only within `QUESTION_TTL`.

Audit details hold codes and ids only.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from grievance.cases import audit
from grievance.cases.messaging import send_to_worker
from grievance.cases.models import (
    Case,
    Consent,
    ConsentScope,
    Partner,
    Referral,
    ReferralStatus,
    ReferralUpdate,
)
from grievance.cases.referral_models import ConsentRequest
from grievance.cases.worker_words import texts
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l
from grievance.staff.models import StaffUser

QUESTION_TTL = timedelta(days=14)


class Method(enum.StrEnum):
    WEB_TICK = "web_tick"  # ticked by the worker on the follow-up page
    MESSAGE_YES = "message_yes"  # a YES reply to a specific question
    SPOKEN = "spoken"  # said to a caseworker, who recorded it
    MESSAGE = "message"  # withdrawal only: asked by SMS or WhatsApp


GRANT_METHODS = frozenset({Method.WEB_TICK, Method.MESSAGE_YES, Method.SPOKEN})
WITHDRAW_METHODS = frozenset({Method.WEB_TICK, Method.MESSAGE, Method.SPOKEN})

SHARING_SCOPES: tuple[str, ...] = (
    ConsentScope.SHARE_NARRATIVE,
    ConsentScope.SHARE_IDENTITY,
    ConsentScope.CONTACT_EMPLOYER,
    ConsentScope.IMMIGRATION_BODIES,
)
# Identity always goes to one named partner (DOMAIN.md).
PARTNER_REQUIRED = frozenset({ConsentScope.SHARE_IDENTITY})

# What a referral can share, and the consents each needs. Attachments are
# payslips, contracts and cards: they carry the worker's name, so they need
# identity consent as well as the story's.
FIELDS: tuple[str, ...] = ("narrative", "identity", "contact", "attachments")
FIELD_SCOPES: dict[str, tuple[str, ...]] = {
    "narrative": (ConsentScope.SHARE_NARRATIVE,),
    "identity": (ConsentScope.SHARE_IDENTITY,),
    "contact": (ConsentScope.SHARE_IDENTITY,),
    "attachments": (ConsentScope.SHARE_NARRATIVE, ConsentScope.SHARE_IDENTITY),
}

SCOPE_LABELS = {
    "store": _l("Store the case data"),
    "share_narrative": _l("Share the story with a partner"),
    "share_identity": _l("Share identity with a partner"),
    "contact_employer": _l("Contact the employer or an intermediary"),
    "immigration_bodies": _l("Share with bodies that may inform immigration"),
}
METHOD_LABELS = {
    "web_tick": _l("Ticked by the worker on the follow-up page"),
    "message_yes": _l("YES reply by message"),
    "spoken": _l("Said to a caseworker"),
    "message": _l("Asked by message"),
}
FIELD_LABELS = {
    "narrative": _l("What happened"),
    "identity": _l("Identity (name, employer and intermediaries)"),
    "contact": _l("Contact details"),
    "attachments": _l("Attachments"),
}

# A bare "yes" in the worker languages and in English; punctuation and case
# are ignored. Anything else is not a YES.
YES_WORDS = frozenset(
    {
        "yes",
        "y",
        "ok",
        "có",
        "co",
        "vâng",
        "dạ",
        "是",
        "是的",
        "好",
        "同意",
        "oo",
        "opo",
        "हो",
        "हजुर",
        "ya",
        "iya",
        "ဟုတ်ကဲ့",
        "ဟုတ်",
        "sim",
        "예",
        "네",
        "ใช่",
        "ඔව්",
        "sí",
        "si",
        "បាទ",
        "ចាស",
        "тийм",
        "হ্যাঁ",
        "হাঁ",
        "ہاں",
        "جی",
        "はい",
        "同意します",
    }
)


class ConsentError(Exception):
    """Base of the consent errors; `message` can be shown to staff."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


class InvalidConsentError(ConsentError):
    pass


class NoSuchConsentError(ConsentError):
    pass


def scope_label(code: str) -> str:
    return str(SCOPE_LABELS.get(code, code))


def method_label(code: str) -> str:
    return str(METHOD_LABELS.get(code, code))


def field_label(code: str) -> str:
    return str(FIELD_LABELS.get(code, code))


def is_yes(text: str) -> bool:
    """Whether a message is a plain YES in one of the worker languages."""
    folded = unicodedata.normalize("NFC", text).strip().strip(".!。！ ").casefold()
    return folded in YES_WORDS


# -- reading ------------------------------------------------------------------------


def active_consents(case: Case) -> list[Consent]:
    return [c for c in case.consents if c.active]


def covers(consent: Consent, scope: str, partner_id: int | None) -> bool:
    """Does `consent` allow `scope` for `partner_id` now?"""
    if not consent.active or consent.scope != scope:
        return False
    if consent.partner_id is None:
        return scope not in PARTNER_REQUIRED
    return consent.partner_id == partner_id


def covering(case: Case, scope: str, partner_id: int | None = None) -> Consent | None:
    """The active consent that allows `scope` (for the partner), naming it first."""
    found = [c for c in case.consents if covers(c, scope, partner_id)]
    found.sort(key=lambda c: (c.partner_id is None, -c.id))
    return found[0] if found else None


class Recipient(Protocol):
    """A partner as consent needs it: its row, or its routing profile."""

    @property
    def id(self) -> int | None: ...

    @property
    def immigration_exposure(self) -> bool: ...


def covered_fields(case: Case, partner: Recipient) -> frozenset[str]:
    """The fields a referral to `partner` may show, from the consents active now."""
    if (
        partner.immigration_exposure
        and covering(case, ConsentScope.IMMIGRATION_BODIES, partner.id) is None
    ):
        return frozenset()
    return frozenset(
        name
        for name, scopes in FIELD_SCOPES.items()
        if all(covering(case, scope, partner.id) is not None for scope in scopes)
    )


def identity_partner_ids(case: Case) -> frozenset[int]:
    return frozenset(
        c.partner_id
        for c in active_consents(case)
        if c.scope == ConsentScope.SHARE_IDENTITY and c.partner_id is not None
    )


def open_request(case: Case, now: datetime | None = None) -> ConsentRequest | None:
    """The question waiting for the worker's answer, if any and still fresh."""
    request = db.session.scalar(
        select(ConsentRequest)
        .where(ConsentRequest.case_id == case.id, ConsentRequest.closed_at.is_(None))
        .order_by(ConsentRequest.id.desc())
        .limit(1)
    )
    if request is None or (now or utcnow()) - as_utc(request.asked_at) > QUESTION_TTL:
        return None
    return request


# -- the worker's view (follow-up page) ---------------------------------------------


@dataclass(frozen=True)
class WorkerConsent:
    """One sharing consent as the follow-up page lists it (no staff data)."""

    id: int
    scope: str
    partner_name: str | None
    method: str
    granted_at: datetime
    withdrawn_at: datetime | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


@dataclass(frozen=True)
class WorkerQuestion:
    """A question the caseworker asked, which the worker can tick to agree."""

    id: int
    scope: str
    partner_name: str | None


def worker_consents(case: Case) -> list[WorkerConsent]:
    """The case's sharing consents, newest first, for the worker to see and withdraw."""
    return [
        WorkerConsent(
            id=c.id,
            scope=c.scope,
            partner_name=c.partner.name if c.partner else None,
            method=c.method,
            granted_at=c.granted_at,
            withdrawn_at=c.withdrawn_at,
        )
        for c in sorted(case.consents, key=lambda c: -c.id)
        if c.scope in SHARING_SCOPES
    ]


def worker_question(case: Case) -> WorkerQuestion | None:
    request = open_request(case)
    if request is None:
        return None
    return WorkerQuestion(
        id=request.id,
        scope=request.scope,
        partner_name=request.partner.name if request.partner else None,
    )


# -- changing -----------------------------------------------------------------------


def _check_scope(scope: str, partner_id: int | None) -> Partner | None:
    if scope not in SHARING_SCOPES:
        raise InvalidConsentError(_l("This is not a consent that can be recorded here."))
    if scope in PARTNER_REQUIRED and partner_id is None:
        raise InvalidConsentError(_l("Identity is shared with one named partner: choose it."))
    if partner_id is None:
        return None
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise InvalidConsentError(_l("There is no such partner."))
    return partner


def record_consent(
    actor: StaffUser | None,
    case: Case,
    scope: str,
    *,
    method: str,
    partner_id: int | None = None,
    message_id: int | None = None,
) -> Consent:
    """Record a consent (idempotent: an identical active one is returned as is).

    `actor` is the caseworker for `spoken`; None when the worker gave it
    (`web_tick`, `message_yes`). Answers the open question it matches.
    """
    if method not in GRANT_METHODS:
        raise InvalidConsentError(_l("Choose how the worker gave consent."))
    if (method == Method.SPOKEN) != (actor is not None):
        raise InvalidConsentError(_l("Spoken consent is recorded by a caseworker."))
    _check_scope(scope, partner_id)
    existing = next(
        (c for c in active_consents(case) if c.scope == scope and c.partner_id == partner_id),
        None,
    )
    consent = existing
    if consent is None:
        consent = Consent(
            case_id=case.id,
            scope=scope,
            partner_id=partner_id,
            method=method,
            recorded_by_id=actor.id if actor else None,
            granted_at=utcnow(),
        )
        case.consents.append(consent)
        db.session.flush()
        detail: dict[str, object] = {
            "consent_id": consent.id,
            "scope": scope,
            "partner_id": partner_id,
            "method": method,
        }
        if message_id is not None:
            detail["message_id"] = message_id
        audit.record(
            "consent.granted",
            case_id=case.id,
            actor_id=actor.id if actor else None,
            detail=detail,
        )
    request = open_request(case)
    if request is not None and request.scope == scope and request.partner_id == partner_id:
        request.closed_at = utcnow()
        request.consent_id = consent.id
        db.session.flush()
    return consent


def withdraw_consent(
    actor: StaffUser | None, case: Case, consent_id: int, *, method: str
) -> Consent:
    """Withdraw one consent at once; referrals it covered lose those fields now.

    Each affected referral gets a system entry so the advisor knows why the
    fields are gone (the entry names the scope, nothing more).
    """
    if method not in WITHDRAW_METHODS:
        raise InvalidConsentError(_l("Choose how the worker withdrew consent."))
    consent = next((c for c in case.consents if c.id == consent_id), None)
    if consent is None or consent.scope not in SHARING_SCOPES:
        raise NoSuchConsentError(_l("There is no such consent on this case."))
    if not consent.active:
        return consent
    consent.withdrawn_at = utcnow()
    db.session.flush()
    audit.record(
        "consent.withdrawn",
        case_id=case.id,
        actor_id=actor.id if actor else None,
        detail={
            "consent_id": consent.id,
            "scope": consent.scope,
            "partner_id": consent.partner_id,
            "method": method,
        },
    )
    for referral in _live_referrals(case, consent.partner_id):
        note = ReferralUpdate(
            data_key=case.data_key, author_kind="system", kind="consent", referral=referral
        )
        note.body = consent.scope
        db.session.add(note)
    db.session.flush()
    return consent


def _live_referrals(case: Case, partner_id: int | None) -> list[Referral]:
    ended = (ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN)
    return [
        r
        for r in case.referrals
        if r.status not in ended and (partner_id is None or r.partner_id == partner_id)
    ]


def ask_consent(
    actor: StaffUser, case: Case, scope: str, *, partner_id: int | None = None
) -> ConsentRequest:
    """Put one consent question to the worker on their channel.

    Any earlier open question is closed: a YES then answers this one only.
    The question goes out through the case's messaging (worker's language,
    safe-contact rules) and shows on the follow-up page to tick.
    """
    partner = _check_scope(scope, partner_id)
    now = utcnow()
    for earlier in db.session.scalars(
        select(ConsentRequest).where(
            ConsentRequest.case_id == case.id, ConsentRequest.closed_at.is_(None)
        )
    ):
        earlier.closed_at = now
    request = ConsentRequest(
        case_id=case.id, scope=scope, partner_id=partner_id, asked_by_id=actor.id, asked_at=now
    )
    db.session.add(request)
    db.session.flush()
    audit.record(
        "consent.asked",
        case_id=case.id,
        actor_id=actor.id,
        detail={"request_id": request.id, "scope": scope, "partner_id": partner_id},
    )
    question = texts().consent_question(case.language, scope, partner.name if partner else None)
    send_to_worker(case, question, actor, purpose="consent")
    return request


# -- the worker's own actions ---------------------------------------------------------


def grant_by_worker(case: Case, request_id: int) -> Consent:
    """The worker ticked "yes" to the open question on the follow-up page."""
    request = open_request(case)
    if request is None or request.id != request_id:
        raise NoSuchConsentError(_l("This question is no longer open."))
    return record_consent(
        None, case, request.scope, method=Method.WEB_TICK, partner_id=request.partner_id
    )


def record_message_yes(case: Case, message_id: int | None = None) -> Consent | None:
    """A YES by SMS or WhatsApp answers the open question; None if none is open.

    The gateway calls this for an inbound message on an open case when
    `is_yes(text)`; `message_id` (the stored inbound message) goes into the
    audit event as the evidence.
    """
    request = open_request(case)
    if request is None:
        return None
    return record_consent(
        None,
        case,
        request.scope,
        method=Method.MESSAGE_YES,
        partner_id=request.partner_id,
        message_id=message_id,
    )


def withdraw_by_worker(case: Case, consent_id: int, *, method: str = Method.WEB_TICK) -> Consent:
    """The worker withdrew one consent (follow-up page, or by message)."""
    return withdraw_consent(None, case, consent_id, method=method)


def withdraw_all_by_worker(case: Case, *, method: str = Method.MESSAGE) -> list[Consent]:
    """The worker asked to stop all sharing: every active sharing consent ends."""
    return [
        withdraw_consent(None, case, c.id, method=method)
        for c in active_consents(case)
        if c.scope in SHARING_SCOPES
    ]

"""Which partners fit a case: a pure ranking, with the reasons for each place.

`rank` reads no database and changes nothing: it takes what is known about
the case and the partner directory as plain values and returns suggestions,
best first, each carrying the reasons it was suggested and the warnings a
caseworker must see before referring. Tests run it over the real seed
partners.

Guarantees
----------
* A partner whose eligibility excludes the worker's residence status (a
  body for technical interns only, legal aid for lawful residents only) is
  never suggested for that worker.
* A partner flagged for immigration exposure always carries the
  `immigration_exposure` warning, whatever else is true.
* Inactive partners, partners that handle none of the case's categories
  and local or regional bodies for another part of Japan are left out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Japan's eight regions by JIS prefecture code: a "regional" partner serves
# its home prefecture's region.
REGIONS: dict[str, tuple[str, ...]] = {
    "hokkaido": ("01",),
    "tohoku": ("02", "03", "04", "05", "06", "07"),
    "kanto": ("08", "09", "10", "11", "12", "13", "14"),
    "chubu": ("15", "16", "17", "18", "19", "20", "21", "22", "23"),
    "kinki": ("24", "25", "26", "27", "28", "29", "30"),
    "chugoku": ("31", "32", "33", "34", "35"),
    "shikoku": ("36", "37", "38", "39"),
    "kyushu": ("40", "41", "42", "43", "44", "45", "46", "47"),
}
REGION_OF: dict[str, str] = {pref: region for region, prefs in REGIONS.items() for pref in prefs}

# Language codes a partner may list meaning "interpreters for many languages".
MULTILINGUAL = "multi"


class Reason(enum.StrEnum):
    """Why a partner was suggested (each shown to the caseworker)."""

    CATEGORY = "category"  # handles these categories of the case
    REFERRAL_TYPE = "referral_type"  # the usual kind of body for the category
    SAME_PREFECTURE = "same_prefecture"
    SAME_REGION = "same_region"
    NATIONAL = "national"
    LANGUAGE = "language"  # speaks the worker's language
    INTERPRETERS = "interpreters"  # many languages through interpreters
    ELIGIBLE = "eligible"  # accepts exactly this residence status
    ANONYMOUS_OK = "anonymous_ok"


class Caution(enum.StrEnum):
    """What the caseworker must weigh before referring."""

    IMMIGRATION_EXPOSURE = "immigration_exposure"  # may inform immigration enforcement
    UNDOCUMENTED_WORKER = "undocumented_worker"  # ...and this worker has no valid status
    NO_SHARED_LANGUAGE = "no_shared_language"  # an interpreter is needed
    ELIGIBILITY_UNKNOWN = "eligibility_unknown"  # residence status not known yet
    PLACE_UNKNOWN = "place_unknown"  # prefecture not known; may be the wrong office
    NAMED_ONLY = "named_only"  # needs identity: does not take anonymous referrals
    WORKER_CHOICE = "worker_choice"  # embassies: only when the worker asks
    ALREADY_REFERRED = "already_referred"
    FICTIONAL = "fictional"  # a demo body: never a real referral


@dataclass(frozen=True)
class CaseProfile:
    """What ranking needs to know about a case; no personal data."""

    categories: tuple[str, ...] = ()
    prefecture: str | None = None
    language: str | None = None
    residence_status: str | None = None
    urgency: str = "P3"


@dataclass(frozen=True)
class PartnerProfile:
    """One directory entry as plain values (see grievance.cases.partners)."""

    id: int | None
    code: str
    name: str
    kind: str = "other"
    type_code: str = ""
    pref_code: str = ""
    scope: str = ""
    languages: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Residence status codes accepted; empty means everyone.
    eligibility: tuple[str, ...] = ()
    anonymous_ok: str = ""
    immigration_exposure: bool = False
    active: bool = True
    is_fictional: bool = False


@dataclass(frozen=True)
class Explained:
    """A reason or warning, with what it is about (category codes, a language)."""

    code: str
    about: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    partner: PartnerProfile
    score: int
    reasons: tuple[Explained, ...] = ()
    warnings: tuple[Explained, ...] = ()

    def has_warning(self, code: str) -> bool:
        return any(w.code == code for w in self.warnings)


@dataclass
class _Tally:
    score: int = 0
    reasons: list[Explained] = field(default_factory=list)
    warnings: list[Explained] = field(default_factory=list)

    def reason(self, code: Reason, points: int, *about: str) -> None:
        self.score += points
        self.reasons.append(Explained(code.value, tuple(about)))

    def warn(self, code: Caution, points: int = 0, *about: str) -> None:
        self.score -= points
        self.warnings.append(Explained(code.value, tuple(about)))


def is_eligible(partner: PartnerProfile, residence_status: str | None) -> bool | None:
    """True or False when known; None when the worker's status is unknown
    and the partner accepts only some statuses."""
    if not partner.eligibility:
        return True
    if not residence_status:
        return None
    return residence_status in partner.eligibility


def serves_place(partner: PartnerProfile, prefecture: str | None) -> bool | None:
    """Whether the partner covers the worker's prefecture (None: unknown)."""
    if partner.scope == "national" or not partner.pref_code:
        return True
    if not prefecture:
        return None
    if partner.scope == "regional":
        return REGION_OF.get(partner.pref_code) == REGION_OF.get(prefecture)
    return partner.pref_code == prefecture


def accepts_anonymous(partner: PartnerProfile) -> bool:
    # The directory's wording varies ("yes", "info only", "after intake",
    # "worker choice"...); only a plain "no" refuses anonymous referrals.
    return partner.anonymous_ok.strip().lower() != "no"


def _place(tally: _Tally, partner: PartnerProfile, prefecture: str | None) -> bool:
    serves = serves_place(partner, prefecture)
    if serves is False:
        return False
    if partner.scope == "national" or not partner.pref_code:
        tally.reason(Reason.NATIONAL, 2)
    elif serves is None:
        tally.warn(Caution.PLACE_UNKNOWN, 1)
    elif partner.pref_code == prefecture:
        tally.reason(Reason.SAME_PREFECTURE, 6 if partner.scope in ("local", "prefectural") else 5)
    else:
        tally.reason(Reason.SAME_REGION, 4)
    return True


def _language(tally: _Tally, partner: PartnerProfile, language: str | None) -> None:
    if not language:
        return
    spoken = {code.lower() for code in partner.languages}
    wanted = language.lower()
    # Easy Japanese is Japanese for a partner.
    if wanted == "ja-x-easy":
        wanted = "ja"
    if wanted in spoken:
        tally.reason(Reason.LANGUAGE, 5, language)
    elif MULTILINGUAL in spoken:
        tally.reason(Reason.INTERPRETERS, 2)
    else:
        tally.warn(Caution.NO_SHARED_LANGUAGE, 0, language)


def _consider(
    case: CaseProfile,
    partner: PartnerProfile,
    referral_types: Mapping[str, Iterable[str]],
    identity_partner_ids: frozenset[int],
    referred_partner_ids: frozenset[int],
) -> Suggestion | None:
    if not partner.active:
        return None
    eligible = is_eligible(partner, case.residence_status)
    if eligible is False:
        return None
    tally = _Tally()
    matched = tuple(c for c in case.categories if c in partner.categories)
    if case.categories and not matched:
        return None
    if matched:
        tally.reason(Reason.CATEGORY, 10 * len(matched), *matched)
    typed = tuple(
        c for c in case.categories if partner.type_code in tuple(referral_types.get(c, ()))
    )
    if typed:
        tally.reason(Reason.REFERRAL_TYPE, 3, *typed)
    if not _place(tally, partner, case.prefecture):
        return None
    _language(tally, partner, case.language)
    if eligible is None:
        tally.warn(Caution.ELIGIBILITY_UNKNOWN, 2, *partner.eligibility)
    elif partner.eligibility:
        tally.reason(Reason.ELIGIBLE, 3, case.residence_status or "")
    if accepts_anonymous(partner):
        tally.reason(Reason.ANONYMOUS_OK, 0)
    elif partner.id not in identity_partner_ids:
        tally.warn(Caution.NAMED_ONLY, 2)
    if partner.immigration_exposure:
        tally.warn(Caution.IMMIGRATION_EXPOSURE, 4)
        if case.residence_status == "UND":
            tally.warn(Caution.UNDOCUMENTED_WORKER, 20)
    if partner.kind == "embassy":
        tally.warn(Caution.WORKER_CHOICE, 3)
    if partner.id is not None and partner.id in referred_partner_ids:
        tally.warn(Caution.ALREADY_REFERRED, 5)
    if partner.is_fictional:
        tally.warn(Caution.FICTIONAL)
    return Suggestion(partner, tally.score, tuple(tally.reasons), tuple(tally.warnings))


def rank(
    case: CaseProfile,
    partners: Iterable[PartnerProfile],
    *,
    referral_types: Mapping[str, Iterable[str]] | None = None,
    identity_partner_ids: Iterable[int] = (),
    referred_partner_ids: Iterable[int] = (),
    limit: int | None = None,
) -> list[Suggestion]:
    """Partners that fit `case`, best first, each with reasons and warnings.

    `referral_types` maps a category code to the partner type codes usually
    right for it (categories.csv). `identity_partner_ids` are partners the
    worker agreed to share their identity with; `referred_partner_ids` those
    the case was referred to already. Ties keep a stable order by name.
    """
    identity = frozenset(identity_partner_ids)
    referred = frozenset(referred_partner_ids)
    types = referral_types or {}
    found = [
        s
        for s in (_consider(case, p, types, identity, referred) for p in partners)
        if s is not None
    ]
    found.sort(key=lambda s: (-s.score, s.partner.name))
    return found[:limit] if limit is not None else found

"""Routing over the real seed partners (grievance/seed/partners.csv).

No database: the seed file is read into routing profiles exactly as the
directory import reads it, and `rank` is a pure function over them.
"""

from __future__ import annotations

import csv
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grievance.cases import partners, routing
from grievance.cases.routing import CaseProfile, Caution, Reason
from grievance.seed.taxonomy import SEED_DIR

SEED_PARTNERS = [
    partners.profile_from_data(data, partner_id=n)
    for n, data in enumerate(
        partners.read_csv((SEED_DIR / "partners.csv").read_text(encoding="utf-8")), start=1
    )
]
BY_CODE = {p.code: p for p in SEED_PARTNERS}
with (SEED_DIR / "categories.csv").open(encoding="utf-8") as fh:
    CATEGORY_ROWS = list(csv.DictReader(fh))
CATEGORIES = [row["code"] for row in CATEGORY_ROWS]
REFERRAL_TYPES = {
    row["code"]: tuple(t for t in row["referral_types"].split(";") if t) for row in CATEGORY_ROWS
}
with (SEED_DIR / "residence_statuses.csv").open(encoding="utf-8") as fh:
    STATUSES = [row["code"] for row in csv.DictReader(fh)]
LANGUAGES = ["vi", "zh-Hans", "fil", "ne", "id", "my", "pt-BR", "en", "ur", "ja", "ja-x-easy"]
PREFECTURES = [None, "01", "08", "13", "21", "23", "27", "47"]
INTERNS_ONLY = [p.code for p in SEED_PARTNERS if set(p.eligibility) == {"TITP", "ESD"}]
LAWFUL_ONLY = [p.code for p in SEED_PARTNERS if p.eligibility and "UND" not in p.eligibility]
EXPOSED = [p.code for p in SEED_PARTNERS if p.immigration_exposure]


def rank(**facts: object) -> list[routing.Suggestion]:
    return routing.rank(CaseProfile(**facts), SEED_PARTNERS, referral_types=REFERRAL_TYPES)  # type: ignore[arg-type]


def codes(suggestions: list[routing.Suggestion]) -> list[str]:
    return [s.partner.code for s in suggestions]


def test_the_seed_has_the_bodies_these_tests_are_about() -> None:
    # Otherwise the guarantees below would hold vacuously.
    assert INTERNS_ONLY == ["G-OTIT"]
    assert "G-HOUTERASU" in LAWFUL_ONLY
    assert {"G-ISA-FRESC", "G-ISA-INFO", "G-POLICE-AICHI"} <= set(EXPOSED)
    assert len(SEED_PARTNERS) == 25


def test_an_interns_only_body_is_never_suggested_for_a_worker_of_another_status() -> None:
    checked = 0
    for status, category, pref in product(STATUSES, CATEGORIES, PREFECTURES):
        if status in ("TITP", "ESD"):
            continue
        for language in ("vi", "id", "my"):
            found = codes(
                rank(
                    categories=(category,),
                    prefecture=pref,
                    language=language,
                    residence_status=status,
                )
            )
            assert "G-OTIT" not in found, (status, category, pref, language)
            checked += 1
    assert checked > 2000


def test_the_interns_body_is_suggested_for_an_intern() -> None:
    found = rank(
        categories=("DOC_RETAIN",), prefecture="23", language="vi", residence_status="TITP"
    )
    otit = next(s for s in found if s.partner.code == "G-OTIT")
    assert any(r.code == Reason.ELIGIBLE for r in otit.reasons)
    assert any(r.code == Reason.LANGUAGE and r.about == ("vi",) for r in otit.reasons)


def test_legal_aid_for_lawful_residents_is_never_suggested_to_an_undocumented_worker() -> None:
    for category in CATEGORIES:
        assert "G-HOUTERASU" not in codes(rank(categories=(category,), residence_status="UND"))
    assert "G-HOUTERASU" in codes(rank(categories=("WAGE_UNPAID",), residence_status="NIK"))


def test_an_immigration_exposed_body_always_carries_the_warning() -> None:
    seen_exposed = 0
    for status, category, pref in product([None, *STATUSES], CATEGORIES, PREFECTURES):
        for suggestion in rank(
            categories=(category,), prefecture=pref, language="en", residence_status=status
        ):
            if suggestion.partner.immigration_exposure:
                seen_exposed += 1
                assert suggestion.has_warning(Caution.IMMIGRATION_EXPOSURE), suggestion
            else:
                assert not suggestion.has_warning(Caution.IMMIGRATION_EXPOSURE)
    assert seen_exposed > 100


def test_an_undocumented_worker_is_warned_twice_and_exposed_bodies_sink() -> None:
    lawful = rank(categories=("VISA_STATUS",), residence_status="ENG", language="en")
    undocumented = rank(categories=("VISA_STATUS",), residence_status="UND", language="en")
    isa = next(s for s in undocumented if s.partner.code == "G-ISA-INFO")
    assert isa.has_warning(Caution.UNDOCUMENTED_WORKER)
    assert isa.has_warning(Caution.IMMIGRATION_EXPOSURE)
    assert isa.score < next(s for s in lawful if s.partner.code == "G-ISA-INFO").score
    exposed = [n for n, s in enumerate(undocumented) if s.partner.immigration_exposure]
    others = [n for n, s in enumerate(undocumented) if not s.partner.immigration_exposure]
    assert exposed and others and max(others) < min(exposed)


def test_place_category_and_language_rank_the_right_union_first() -> None:
    # A Vietnamese intern in Aichi with unpaid wages.
    found = rank(
        categories=("WAGE_UNPAID",), prefecture="23", language="vi", residence_status="TITP"
    )
    names = codes(found)
    assert names[0] == "U-DEMO-TOKAI"
    top = found[0]
    reason_codes = {r.code for r in top.reasons}
    assert {Reason.CATEGORY, Reason.SAME_PREFECTURE, Reason.LANGUAGE} <= reason_codes
    assert next(r for r in top.reasons if r.code == Reason.CATEGORY).about == ("WAGE_UNPAID",)
    # The Kanto union and the Ibaraki inspection office serve other regions.
    assert "U-DEMO-KANTO" not in names
    assert "G-LSIO-MITO" not in names
    # Aichi's own inspection office is there, with the interpreter warning.
    toyota = next(s for s in found if s.partner.code == "G-LSIO-TOYOTA")
    assert any(r.code == Reason.SAME_PREFECTURE for r in toyota.reasons)
    assert toyota.has_warning(Caution.NO_SHARED_LANGUAGE)


def test_a_regional_body_serves_its_region_only() -> None:
    kanto = BY_CODE["U-DEMO-KANTO"]
    assert routing.serves_place(kanto, "08") is True  # Ibaraki is in Kanto
    assert routing.serves_place(kanto, "27") is False
    assert routing.serves_place(kanto, None) is None
    assert routing.serves_place(BY_CODE["G-MHLW-HOTLINE"], "47") is True


def test_unknown_prefecture_and_status_are_warnings_not_exclusions() -> None:
    found = rank(categories=("DOC_RETAIN",), language="vi")
    otit = next(s for s in found if s.partner.code == "G-OTIT")
    assert otit.has_warning(Caution.ELIGIBILITY_UNKNOWN)
    local = next(s for s in found if s.partner.code == "G-POLICE-AICHI")
    assert local.has_warning(Caution.PLACE_UNKNOWN)


def test_partners_handling_none_of_the_categories_are_left_out() -> None:
    for suggestion in rank(categories=("MENTAL_HEALTH",), language="ne"):
        assert "MENTAL_HEALTH" in suggestion.partner.categories


def test_a_body_that_refuses_anonymous_referrals_says_so_until_identity_is_agreed() -> None:
    facts = CaseProfile(categories=("WAGE_UNPAID",), prefecture="13", language="en")
    law = BY_CODE["L-DEMO-AOZORA"]
    before = next(s for s in routing.rank(facts, SEED_PARTNERS) if s.partner.code == law.code)
    assert before.has_warning(Caution.NAMED_ONLY)
    after = next(
        s
        for s in routing.rank(facts, SEED_PARTNERS, identity_partner_ids=[law.id or 0])
        if s.partner.code == law.code
    )
    assert not after.has_warning(Caution.NAMED_ONLY)
    assert after.score > before.score


def test_embassies_fictional_bodies_and_earlier_referrals_are_marked() -> None:
    found = rank(categories=("RECRUIT_DEBT",), language="vi", residence_status="TITP")
    embassy = next(s for s in found if s.partner.code == "E-VN-EMB")
    assert embassy.has_warning(Caution.WORKER_CHOICE)
    demo = next(s for s in found if s.partner.is_fictional)
    assert demo.has_warning(Caution.FICTIONAL)
    otit = BY_CODE["G-OTIT"]
    again = routing.rank(
        CaseProfile(categories=("RECRUIT_DEBT",), language="vi", residence_status="TITP"),
        SEED_PARTNERS,
        referred_partner_ids=[otit.id or 0],
    )
    assert next(s for s in again if s.partner.code == "G-OTIT").has_warning(
        Caution.ALREADY_REFERRED
    )


def test_inactive_partners_are_never_suggested() -> None:
    from dataclasses import replace

    inactive = [replace(p, active=False) if p.code == "U-DEMO-TOKAI" else p for p in SEED_PARTNERS]
    found = routing.rank(
        CaseProfile(categories=("WAGE_UNPAID",), prefecture="23", language="vi"), inactive
    )
    assert "U-DEMO-TOKAI" not in codes(found)


def test_ranking_is_stable_and_limited() -> None:
    first = rank(categories=("WAGE_UNPAID", "DISMISSAL_RETURN"), language="pt-BR")
    second = rank(categories=("WAGE_UNPAID", "DISMISSAL_RETURN"), language="pt-BR")
    assert codes(first) == codes(second)
    assert [s.score for s in first] == sorted((s.score for s in first), reverse=True)
    limited = routing.rank(CaseProfile(categories=("WAGE_UNPAID",)), SEED_PARTNERS, limit=3)
    assert len(limited) == 3


@settings(max_examples=300, deadline=None)
@given(
    categories=st.lists(st.sampled_from(CATEGORIES), max_size=3, unique=True),
    prefecture=st.sampled_from(PREFECTURES),
    language=st.sampled_from(LANGUAGES),
    status=st.sampled_from([None, *STATUSES]),
    urgency=st.sampled_from(["P0", "P1", "P2", "P3"]),
)
def test_the_guarantees_hold_for_any_case(
    categories: list[str], prefecture: str | None, language: str, status: str | None, urgency: str
) -> None:
    found = rank(
        categories=tuple(categories),
        prefecture=prefecture,
        language=language,
        residence_status=status,
        urgency=urgency,
    )
    for suggestion in found:
        partner = suggestion.partner
        if partner.eligibility and status:
            assert status in partner.eligibility
        if partner.immigration_exposure:
            assert suggestion.has_warning(Caution.IMMIGRATION_EXPOSURE)
        if categories:
            assert set(categories) & set(partner.categories)
        assert routing.serves_place(partner, prefecture) is not False
        assert suggestion.reasons or suggestion.warnings


@pytest.mark.parametrize("code", ["G-ISA-FRESC", "G-ISA-INFO", "G-POLICE-AICHI"])
def test_the_seed_flags_bodies_that_may_inform_immigration(code: str) -> None:
    assert BY_CODE[code].immigration_exposure

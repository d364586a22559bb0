"""Load categories, ILO indicators, urgency levels, residence statuses and
partners from the CSV files beside this module (copied from the domain brief).

Loading is idempotent: existing rows are updated in place, never duplicated.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from grievance.cases.models import (
    AuditHead,
    Category,
    IloIndicator,
    Partner,
    ResidenceStatus,
    UrgencyLevel,
)
from grievance.extensions import db

SEED_DIR = Path(__file__).resolve().parent

SLA = {"P0": (60, None), "P1": (24 * 60, None), "P2": (None, 2), "P3": (None, 5)}

PARTNER_KINDS = {
    "LAW": "lawyer",
    "UNION": "union",
    "EMB": "embassy",
    "NPO": "ngo",
    "NPO_SHELTER": "ngo",
    "MH_LINE": "ngo",
}
ALL_LAWFUL = "TITP;ESD;SSW1;SSW2;ENG;STU;DEP;NIK;DA"


def rows(name: str) -> Iterator[dict[str, str]]:
    with (SEED_DIR / name).open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def partner_kind(type_code: str) -> str:
    return PARTNER_KINDS.get(type_code, "government")


def partner_eligibility(notes: str, type_code: str) -> str:
    """Residence statuses a partner accepts ("" means everyone)."""
    text = notes.lower()
    if type_code == "OTIT" or "titp only" in text:
        return "TITP;ESD"
    # The seed says "civil legal aid only for lawful residents".
    if "lawful resident" in text:
        return ALL_LAWFUL
    return ""


def immigration_exposure(type_code: str, notes: str) -> bool:
    # Bodies that may pass information to immigration enforcement.
    return type_code in {"ISA", "POLICE"} or "enforcement-risk" in notes.lower()


def load_partner_row(row: dict[str, str]) -> Partner:
    partner = db.session.query(Partner).filter_by(code=row["org_code"]).one_or_none()
    if partner is None:
        partner = Partner(code=row["org_code"])
        db.session.add(partner)
    fictional = row.get("is_fictional", "").strip().lower() == "true"
    partner.name = row["name"]
    partner.sector = row.get("sector", "")
    partner.type_code = row.get("type", "")
    partner.kind = partner_kind(partner.type_code)
    partner.pref_code = row.get("pref_code", "")
    partner.prefecture = row.get("prefecture", "")
    partner.scope = row.get("scope", "")
    partner.languages = row.get("languages", "")
    partner.categories = row.get("accepts_categories", "")
    partner.anonymous_ok = row.get("anonymous_ok", "")
    partner.notes = row.get("notes", "")
    partner.is_fictional = fictional
    partner.eligibility = partner_eligibility(partner.notes, partner.type_code)
    partner.immigration_exposure = immigration_exposure(partner.type_code, partner.notes)
    if fictional and not partner.notify_email:
        # Demo partners get addresses that can never reach anyone.
        partner.notify_email = f"intake@{row['org_code'].lower()}.demo.invalid"
    return partner


def load_partners() -> int:
    count = 0
    for row in rows("partners.csv"):
        load_partner_row(row)
        count += 1
    db.session.flush()
    return count


def load_taxonomy() -> None:
    for row in rows("urgency_levels.csv"):
        level = db.session.get(UrgencyLevel, row["code"]) or UrgencyLevel(code=row["code"])
        level.name = row["name"]
        level.sla_minutes, level.sla_working_days = SLA[row["code"]]
        level.examples = row["examples"]
        db.session.add(level)
    for row in rows("ilo_indicators.csv"):
        indicator = db.session.get(IloIndicator, row["code"]) or IloIndicator(code=row["code"])
        indicator.name = row["indicator"]
        db.session.add(indicator)
    for row in rows("residence_statuses.csv"):
        status = db.session.get(ResidenceStatus, row["code"]) or ResidenceStatus(code=row["code"])
        status.name_en = row["name_en"]
        status.name_ja = row["name_ja"]
        status.work_restriction = row["work_restriction"]
        status.employer_change = row["employer_change"]
        status.key_risks = row["key_risks"]
        status.note = row["note"]
        db.session.add(status)
    db.session.flush()
    for position, row in enumerate(rows("categories.csv")):
        category = db.session.get(Category, row["code"]) or Category(code=row["code"])
        category.name = row["name"]
        category.default_urgency = row["default_urgency"]
        category.escalation_rule = row["escalation_rule"]
        category.referral_types = row["referral_types"]
        category.position = position
        codes = [c for c in row["ilo_indicators"].split(";") if c]
        category.indicators = [db.session.get(IloIndicator, c) for c in codes]  # type: ignore[misc]
        db.session.add(category)
    if db.session.get(AuditHead, 1) is None:
        from grievance.cases.audit import GENESIS

        db.session.add(AuditHead(id=1, seq=0, last_hash=GENESIS))
    db.session.flush()

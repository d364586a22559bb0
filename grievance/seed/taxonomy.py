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


def rows(name: str) -> Iterator[dict[str, str]]:
    with (SEED_DIR / name).open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def load_partner_row(row: dict[str, str]) -> Partner:
    """Add or update one partner with the directory's own rules for reading a row."""
    from grievance.cases import partners

    partner = partners.partner_by_code(row["org_code"])
    if partner is None:
        partner = Partner(code=row["org_code"])
        db.session.add(partner)
        data = partners.row_to_data(row)
    else:
        data = partners.row_to_data(row, existing=partner)
    partners.apply_data(partner, data)
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

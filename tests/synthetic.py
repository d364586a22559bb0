"""Synthetic cases for scale tests, written with bulk inserts.

The rows carry only the columns kept in the clear (codes, times, keys): the
reports never read anything else, and skipping encryption keeps 100,000
cases to a few seconds. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from grievance.cases.models import Case, Category, case_categories
from grievance.cases.workspace_models import CaseParty
from grievance.extensions import db

LANGUAGES = ("vi", "vi", "vi", "zh-Hans", "fil", "ne", "id", "my", "pt-BR", "en", "ur")
CHANNELS = ("web", "web", "sms", "whatsapp")
URGENCIES = ("P0", "P1", "P2", "P2", "P3", "P3")
STATUSES = ("new", "acknowledged", "in_progress", "referred", "resolved", "closed", "closed")
RESIDENCE = ("TITP", "SSW1", "SSW2", None)
OUTCOMES = ("wages_recovered", "documents_returned", "apology", "no_remedy")


def insert_cases(
    n: int,
    *,
    seed: int = 7,
    now: datetime | None = None,
    months: int = 24,
    employers: int = 20_000,
    chunk: int = 10_000,
) -> None:
    """Insert `n` cases opened over the last `months` months, with categories."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    codes = list(db.session.scalars(select(Category.code)))
    start_id = (db.session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
    span = months * 30 * 24 * 3600
    for offset in range(0, n, chunk):
        cases: list[dict[str, object]] = []
        links: list[dict[str, object]] = []
        parties: list[dict[str, object]] = []
        for i in range(offset, min(n, offset + chunk)):
            case_id = start_id + i
            created = now - timedelta(seconds=rng.randrange(span))
            status = rng.choice(STATUSES)
            acknowledged = (
                created + timedelta(hours=rng.expovariate(1 / 30)) if status != "new" else None
            )
            resolved = (
                created + timedelta(days=rng.uniform(5, 120))
                if status in ("resolved", "closed")
                else None
            )
            cases.append(
                {
                    "id": case_id,
                    "uid": f"{case_id:032x}",
                    "reference": f"S{case_id:07d}",
                    "secret_hash": b"\0" * 32,
                    "status": status,
                    "urgency": rng.choice(URGENCIES),
                    "language": rng.choice(LANGUAGES),
                    "channel": rng.choice(CHANNELS),
                    "prefecture": rng.choice(("13", "23", "08", "27", None)),
                    "residence_status": rng.choice(RESIDENCE),
                    "created_at": created,
                    "updated_at": created,
                    "due_at": created + timedelta(hours=rng.choice((1, 24, 48, 120))),
                    "acknowledged_at": acknowledged,
                    "first_response_at": acknowledged,
                    "resolved_at": resolved,
                    "closed_at": resolved if status == "closed" else None,
                    "outcome": rng.choice(OUTCOMES) if resolved else None,
                    "feedback_solved": rng.choice(("yes", "partly", "no")) if resolved else None,
                    "feedback_recommend": rng.random() < 0.7 if resolved else None,
                    "resolved_by_dialogue": rng.random() < 0.5 if resolved else None,
                    "conflict_checked": rng.random() < 0.8,
                    "gag_clause": False,
                    "employer_key": f"{rng.randrange(employers):064x}",
                }
            )
            for code in rng.sample(codes, rng.choice((1, 1, 2))):
                links.append({"case_id": case_id, "category_code": code})
            if rng.random() < 0.3:
                parties.append(
                    {
                        "case_id": case_id,
                        "role": "sending_agency",
                        "name_key": f"{rng.randrange(500):064x}",
                    }
                )
        db.session.execute(insert(Case.__table__), cases)
        db.session.execute(insert(case_categories), links)
        if parties:
            db.session.execute(insert(CaseParty.__table__), parties)
    db.session.commit()

"""Synthetic cases for scale tests, written with bulk inserts.

The rows carry only the columns kept in the clear (codes, times, keys): the
reports never read anything else, and skipping encryption keeps 100,000
cases to a few seconds. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

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


def _mix(multiplier: int) -> str:
    """A well-spread pseudo-random integer from the row number i."""
    return f"((i * {multiplier}) % 1000003)"


def _pick(multiplier: int, values: tuple[str | None, ...]) -> str:
    """SQL choosing one of `values` from the row number."""
    whens = " ".join(
        f"WHEN {i} THEN {'NULL' if v is None else repr(v)}" for i, v in enumerate(values)
    )
    return f"CASE {_mix(multiplier)} % {len(values)} {whens} END"


def _sql_literal(value: object, dialect: str) -> str:
    if isinstance(value, bool):
        return ("true" if value else "false") if dialect == "postgresql" else str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert_cases_in_sql(n: int, *, months: int = 24, employers: int = 20_000) -> None:
    """Like `insert_cases`, but generated by the database itself in one
    INSERT ... SELECT (SQLite: a recursive CTE; PostgreSQL: generate_series),
    so 100,000 cases take seconds. Values come from fixed arithmetic on the
    row number: deterministic, spread over every dimension. Columns not set
    here get their model default, so new NOT NULL columns keep it working."""
    dialect = db.session.get_bind().dialect.name
    start = (db.session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
    span = months * 30 * 24 * 3600
    status = _pick(40503, STATUSES)
    resolved_status = f"({status}) IN ('resolved', 'closed')"
    due_hours = _pick(69069, ("1", "24", "48", "120"))
    if dialect == "postgresql":
        created = f"now() - ((i * 2654435761) % {span}) * interval '1 second'"
        ack = f"({created}) + ({_mix(97)} % 100) * interval '1 hour'"
        resolved = f"({created}) + ({_mix(53)} % 115 + 5) * interval '1 day'"
        due = f"({created}) + ({due_hours})::int * interval '1 hour'"
        uid = "lpad(to_hex(i), 32, '0')"
        reference = "'S' || lpad(i::text, 7, '0')"
        # The varying digits first: reports keep a 40-character prefix.
        employer = f"rpad(lpad(to_hex({_mix(7919)} % {employers}), 8, '0'), 64, '0')"
        secret = "decode(repeat('00', 32), 'hex')"
        with_clause = ""
        from_clause = f"FROM generate_series({start}::bigint, {start + n - 1}::bigint) AS s(i)"
    else:
        created = f"datetime('now', '-' || ((i * 2654435761) % {span}) || ' seconds')"
        ack = f"datetime({created}, '+' || ({_mix(97)} % 100) || ' hours')"
        resolved = f"datetime({created}, '+' || ({_mix(53)} % 115 + 5) || ' days')"
        due = f"datetime({created}, '+' || ({due_hours}) || ' hours')"
        uid = "printf('%032x', i)"
        reference = "'S' || printf('%07d', i)"
        employer = f"printf('%08x%056d', {_mix(7919)} % {employers}, 0)"
        secret = "zeroblob(32)"
        with_clause = (
            f"WITH RECURSIVE seq(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM seq "
            f"WHERE i < {start + n - 1}) "
        )
        from_clause = "FROM seq"
    acknowledged = f"CASE WHEN ({status}) = 'new' THEN NULL ELSE {ack} END"
    values: dict[str, str] = {
        "id": "i",
        "uid": uid,
        "reference": reference,
        "secret_hash": secret,
        "status": status,
        "urgency": _pick(1103, URGENCIES),
        "language": _pick(3571, LANGUAGES),
        "channel": _pick(2753, CHANNELS),
        "prefecture": _pick(4391, ("13", "23", "08", "27", None)),
        "residence_status": _pick(5113, RESIDENCE),
        "created_at": created,
        "updated_at": created,
        "due_at": due,
        "acknowledged_at": acknowledged,
        "first_response_at": acknowledged,
        "resolved_at": f"CASE WHEN {resolved_status} THEN {resolved} END",
        "closed_at": f"CASE WHEN ({status}) = 'closed' THEN {resolved} END",
        "outcome": f"CASE WHEN {resolved_status} THEN {_pick(6007, OUTCOMES)} END",
        "feedback_solved": (
            f"CASE WHEN {resolved_status} THEN {_pick(7013, ('yes', 'partly', 'no'))} END"
        ),
        "feedback_recommend": f"CASE WHEN {resolved_status} THEN {_mix(8011)} % 10 < 7 END",
        "resolved_by_dialogue": f"CASE WHEN {resolved_status} THEN {_mix(9001)} % 2 = 0 END",
        "conflict_checked": f"{_mix(9857)} % 10 < 8",
        "employer_key": employer,
    }
    for column in Case.__table__.columns:
        if column.name in values or column.nullable:
            continue
        default = column.default
        if default is None or not default.is_scalar:
            raise RuntimeError(f"no synthetic value for cases.{column.name}")
        values[column.name] = _sql_literal(default.arg, dialect)
    columns = ", ".join(values)
    rows = f"SELECT {', '.join(values.values())} {from_clause}"
    db.session.execute(text(f"{with_clause}INSERT INTO cases ({columns}) {rows}"))
    categories = f"SELECT i, {_pick(1201, _CATEGORY_SAMPLE)} {from_clause}"
    db.session.execute(
        text(f"{with_clause}INSERT INTO case_categories (case_id, category_code) {categories}")
    )
    if dialect == "postgresql":
        # The ids were given explicitly: move the sequence past them, so
        # cases opened afterwards get new ones.
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"
            )
        )
    db.session.commit()


_CATEGORY_SAMPLE = (
    "WAGE_UNPAID",
    "WAGE_DEDUCT",
    "DOC_RETAIN",
    "RECRUIT_DEBT",
    "HARASS_POWER",
    "DISMISSAL_RETURN",
)

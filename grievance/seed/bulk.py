"""Synthetic cases for benchmarks: `flask grievance seed-bulk --cases N`.

Fast: rows are built in memory and written with one multi-row INSERT per
table per batch (no ORM unit of work), with explicit ids so categories and
indicators go in the same batch. Building a batch (random choices, a data
key and a sealed narrative per case) costs more than writing it, so large
loads build batches in worker processes, one per core, while this process
writes them in order: a million cases in a few minutes.

Realistic enough to measure with: languages weighted by the number of
workers who speak them, channels as the brief describes (WhatsApp first
for some communities), one to three categories with their default urgency
and a share of P0, statuses that follow the age of the case (most old
cases closed, recent ones new or in progress), Japan's industrial
prefectures most often, deadlines computed as the service computes them,
so some cases are overdue, and a thread of messages that grows with the
case's progress (none to a few for new cases, up to a dozen for worked
ones: the worker's messages, staff replies and internal notes, the
unread ones last).

Every narrative and message is sealed under its case's data key exactly
as a real one is (the same `EncryptedField` and associated data), so
decrypting costs what it costs in production. The stories are invented and generic; the
receipt secret is random and never issued, so no one can open these cases
from the follow-up page. No audit events are written for the synthetic
cases themselves (a benchmark data set is not casework); one event records
that a bulk load happened and how large it was.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import ColumnDefault, Table, func, insert, select, text

from grievance import crypto
from grievance.cases import audit
from grievance.cases.deadlines import due_at
from grievance.cases.models import Case, Category, Message, case_categories, case_indicators
from grievance.crypto import EncryptedField
from grievance.datakeys import DataKey, utcnow
from grievance.extensions import db
from grievance.staff.models import Role, StaffUser

# Share of workers by language (languages.csv ranking, rounded), plus the
# Japanese varieties.
LANGUAGE_WEIGHTS: dict[str, float] = {
    "vi": 24,
    "zh-Hans": 17,
    "fil": 10,
    "ne": 9,
    "id": 9,
    "my": 6,
    "pt-BR": 5,
    "en": 4,
    "ko": 2,
    "th": 2,
    "si": 2,
    "es": 2,
    "km": 2,
    "mn": 1.5,
    "bn": 1.5,
    "ur": 1.5,
    "ja-x-easy": 1,
    "ja": 1,
}
WHATSAPP_FIRST = {"id", "pt-BR", "ur", "si", "es"}
# Where most foreign workers are: Aichi, Tokyo, Osaka, Ibaraki, Saitama,
# Kanagawa, Chiba, Shizuoka, Gifu, Gunma, Hiroshima, Fukuoka.
PREFECTURE_WEIGHTS: dict[str, float] = {
    "23": 12,
    "13": 12,
    "27": 8,
    "08": 6,
    "11": 6,
    "14": 6,
    "12": 5,
    "22": 5,
    "21": 4,
    "10": 4,
    "34": 3,
    "40": 3,
}
CATEGORY_WEIGHTS: dict[str, float] = {
    "WAGE_UNPAID": 20,
    "WAGE_DEDUCT": 9,
    "HARASS_POWER": 9,
    "HOURS_EXCESS": 7,
    "DOC_RETAIN": 5,
    "DISMISSAL_RETURN": 6,
    "OSH_INJURY": 5,
    "SOCIAL_INSURANCE_TAX": 6,
    "JOB_CHANGE": 5,
    "HOUSING": 4,
    "RECRUIT_DEBT": 4,
    "BROKER_MISCONDUCT": 3,
    "VISA_STATUS": 3,
    "DECEPTION": 3,
    "MOVE_RESTRICT": 2,
    "VIOLENCE": 2,
    "HARASS_SEXUAL": 1.5,
    "PREGNANCY": 1,
    "FORCED_SAVINGS": 1,
    "DISCRIMINATION": 1.5,
    "MENTAL_HEALTH": 1.5,
    "HEALTH_ACCESS": 1.5,
    "TRAFFICKING_FL": 0.5,
    "LIFE_OTHER": 3,
}
RESIDENCE_WEIGHTS: dict[str, float] = {
    "TITP": 35,
    "SSW1": 20,
    "ENG": 15,
    "STU": 10,
    "NIK": 8,
    "DEP": 5,
    "SSW2": 3,
}
INDUSTRIES = ("manufacturing", "construction", "agriculture", "food", "care", "services", "retail")
# Invented, generic stories: a few per language, varied by a number.
STORIES: dict[str, tuple[str, ...]] = {
    "vi": (
        "Công ty chưa trả tiền làm thêm {n} giờ tháng trước.",
        "Tôi bị trừ {n} nghìn yên tiền ký túc xá mỗi tháng.",
    ),
    "zh-Hans": ("公司上个月少付了{n}个小时的加班费。", "宿舍费每月扣{n}千日元，太多了。"),
    "fil": (
        "Hindi binayaran ang {n} oras na overtime ko.",
        "Kinakaltasan ako ng {n} libong yen bawat buwan.",
    ),
    "ne": ("मेरो {n} घण्टाको ओभरटाइम तलब दिएको छैन।", "हरेक महिना {n} हजार येन काटिन्छ।"),
    "id": (
        "Lembur {n} jam bulan lalu belum dibayar.",
        "Gaji saya dipotong {n} ribu yen tiap bulan.",
    ),
    "my": ("အချိန်ပို {n} နာရီ လစာ မရသေးပါ။", "လတိုင်း ယန်း {n} ထောင် ဖြတ်တောက်ပါတယ်။"),
    "pt-BR": (
        "Não recebi {n} horas extras do mês passado.",
        "Descontam {n} mil ienes por mês do alojamento.",
    ),
    "en": (
        "I was not paid for {n} hours of overtime last month.",
        "The company deducts {n} thousand yen a month for the dormitory.",
    ),
    "ko": ("지난달 초과근무 {n}시간 수당을 못 받았습니다.", "매달 기숙사비로 {n}천 엔을 뗍니다."),
    "th": ("ยังไม่ได้ค่าล่วงเวลา {n} ชั่วโมงของเดือนที่แล้ว", "ถูกหักค่าหอพักเดือนละ {n} พันเยน"),
    "si": ("පසුගිය මාසේ අතිකාල පැය {n} ගෙව්වේ නැහැ.", "මාසෙකට යෙන් දහස් {n} ක් කපනවා."),
    "es": (
        "No me pagaron {n} horas extras el mes pasado.",
        "Me descuentan {n} mil yenes al mes por el dormitorio.",
    ),
    "km": ("ខ្ញុំមិនទាន់បានប្រាក់ថែមម៉ោង {n} ម៉ោងទេ។", "គេកាត់ប្រាក់ខែ {n} ពាន់យ៉េនរៀងរាល់ខែ។"),
    "mn": (
        "Өнгөрсөн сарын {n} цагийн илүү цагийн цалин аваагүй.",
        "Сар бүр {n} мянган иен суутгадаг.",
    ),
    "bn": ("গত মাসের {n} ঘণ্টার ওভারটাইম পাইনি।", "প্রতি মাসে {n} হাজার ইয়েন কেটে নেয়।"),
    "ur": (
        "پچھلے مہینے کے {n} گھنٹے اوور ٹائم کے پیسے نہیں ملے۔",
        "ہر مہینے {n} ہزار ین کاٹ لیتے ہیں۔",
    ),
    "ja-x-easy": ("せんげつの ざんぎょう {n}じかんの おかねが ありません。",),
    "ja": (
        "先月の残業{n}時間分の賃金が払われていません。",
        "寮費として毎月{n}千円引かれています。",
    ),
}
# Status by age of the case: (max age in days, [(status, weight), ...]).
STATUS_BY_AGE: tuple[tuple[int, tuple[tuple[str, float], ...]], ...] = (
    (7, (("new", 50), ("acknowledged", 30), ("in_progress", 20))),
    (
        60,
        (
            ("acknowledged", 10),
            ("in_progress", 40),
            ("referred", 30),
            ("resolved", 15),
            ("closed", 5),
        ),
    ),
    (
        100_000,
        (("closed", 85), ("resolved", 5), ("in_progress", 5), ("referred", 5)),
    ),
)
SPAN_DAYS = 3 * 365
# Messages in a case's thread besides the unread ones, by status (from, to):
# a new case has at most the worker's first text, a worked one a dozen.
THREAD_LENGTH: dict[str, tuple[int, int]] = {
    "new": (0, 1),
    "acknowledged": (1, 3),
    "in_progress": (2, 8),
    "referred": (3, 10),
    "resolved": (3, 10),
    "closed": (2, 8),
}
NOTE_SHARE = 0.15  # of staff messages, internal notes
# Staff replies and notes (invented; sealed, so only their length matters).
STAFF_LINES = (
    "Thank you for your message. We have read it and will help you.",
    "Can you tell us when this started, and how much was not paid?",
    "We spoke with the union. They can meet you on Saturday.",
    "Please keep your pay slips and a photo of your time card.",
    "Note: the worker asked us to write only in the evening.",
)


class _Sealer:
    """Seals a case's narrative exactly as `Case.narrative` does, without
    the ORM: same table name, field name, row uid and a fresh data key
    made and unwrapped by grievance.crypto, as `DataKey` does."""

    __tablename__ = "cases"
    narrative = EncryptedField("narrative_ct")

    def __init__(self, ring: crypto.KeyRing, case_id: int) -> None:
        self.uid = _synthetic_uid(case_id, 0)
        self.key, clear = crypto.new_data_key(ring, _synthetic_uid(case_id, 1))
        self.narrative_ct: bytes | None = None
        # Kept from creation: the narrative and every message use it.
        self._material = (self.key.dek_id, clear)

    def data_key_material(self) -> tuple[str, bytes]:
        return self._material


def _synthetic_uid(case_id: int, n: int) -> str:
    """A uid for the n-th row made for a synthetic case (0: the case, 1: its
    data key, then its messages): 32 hex digits like `crypto.new_uid()`'s,
    unique by their first twelve (the case id, then n) and random after.

    Rows are written in case order, so each uid goes at the end of its
    unique index. Random ones went anywhere in it: at a million cases, with
    five million messages, the indexes outgrew the cache and the load took
    over seven minutes on SQLite instead of four and a half.
    """
    return f"{case_id:010x}{n:02x}{secrets.token_hex(10)}"


class _MessageSealer:
    """Seals one message's body as `Message.body` does, under its case's key."""

    __tablename__ = "messages"
    body = EncryptedField("body_ct")

    def __init__(self, key: tuple[str, bytes], uid: str) -> None:
        self.uid = uid
        self.key = key
        self.body_ct: bytes | None = None

    def data_key_material(self) -> tuple[str, bytes]:
        return self.key


class _Weighted:
    """Repeated weighted choices without recomputing the weights each time."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.items = list(weights)
        self.cumulative = list(accumulate(weights.values()))

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.items, cum_weights=self.cumulative)[0]


@dataclass(frozen=True)
class _Taxonomy:
    urgency: dict[str, str]
    indicators: dict[str, list[str]]
    categories: _Weighted


def _taxonomy() -> _Taxonomy:
    categories = list(db.session.scalars(select(Category)))
    known = {c.code for c in categories}
    return _Taxonomy(
        urgency={c.code: c.default_urgency for c in categories},
        indicators={c.code: [i.code for i in c.indicators] for c in categories},
        categories=_Weighted({c: w for c, w in CATEGORY_WEIGHTS.items() if c in known}),
    )


LANGUAGES = _Weighted(LANGUAGE_WEIGHTS)
PREFECTURES = _Weighted(PREFECTURE_WEIGHTS)
RESIDENCES = _Weighted(RESIDENCE_WEIGHTS)


def _status(rng: random.Random, age_days: float) -> str:
    for limit, choices in STATUS_BY_AGE:
        if age_days <= limit:
            return rng.choices([s for s, _ in choices], weights=[w for _, w in choices])[0]
    return "closed"


# Below this many cases the batches are built in this process: starting
# workers would cost more than it saves.
PARALLEL_FROM = 50_000


@dataclass(frozen=True)
class _Plan:
    """What every batch needs, fixed before the workers start (they inherit
    it when forked, so nothing large crosses a pipe)."""

    ring: crypto.KeyRing
    now: datetime
    taxonomy: _Taxonomy
    staff: list[int]
    taken: frozenset[str]
    seed: int | None
    sqlite: bool
    defaults: dict[str, dict[str, Any]]


_PLAN: _Plan | None = None


def seed_bulk(
    count: int,
    *,
    batch_size: int = 5000,
    seed: int | None = None,
    now: datetime | None = None,
    progress: Callable[[int], object] | None = None,
    processes: int | None = None,
) -> int:
    """Insert `count` synthetic cases in batches, committing each batch."""
    global _PLAN
    sqlite = db.engine.dialect.name == "sqlite"
    tables = (
        DataKey.__table__,
        Case.__table__,
        case_categories,
        case_indicators,
        Message.__table__,
    )
    _PLAN = _Plan(
        ring=crypto.current_ring(),
        now=now or utcnow(),
        taxonomy=_taxonomy(),
        staff=list(
            db.session.scalars(
                select(StaffUser.id).where(StaffUser.role.in_((Role.CASEWORKER, Role.ADMIN)))
            )
        ),
        taken=frozenset(db.session.scalars(select(Case.reference)) if _has_cases() else ()),
        seed=seed,
        sqlite=sqlite,
        defaults={table.name: _defaults(table) for table in tables},
    )
    next_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    if sqlite:
        # Random uids land all over their index: a large page cache for
        # this connection keeps those inserts in memory.
        db.session.execute(text("PRAGMA cache_size = -262144"))
    batches = [
        (number, next_id + start, min(batch_size, count - start))
        for number, start in enumerate(range(0, count, batch_size))
    ]
    made = 0
    for (_, _, size), rows in zip(batches, _built(batches, processes), strict=True):
        for table, table_rows in zip(tables, rows, strict=True):
            _insert(table, table_rows)
        db.session.commit()
        made += size
        if progress is not None:
            progress(size)
    _PLAN = None
    _advance_sequence()
    audit.record("seed.bulk", detail={"cases": made})
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics now, as autovacuum would bring them a while after
        # a large load: until then the planner takes a million-row table for
        # an empty one and scans where it should use the indexes.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return made


def _built(batches: list[tuple[int, int, int]], processes: int | None) -> Iterator[_Batch]:
    """The batches' rows, in order: built here, or by worker processes."""
    total = sum(size for _, _, size in batches)
    workers = processes if processes is not None else (os.cpu_count() or 1)
    if total < PARALLEL_FROM or workers <= 1 or len(batches) <= 1:
        yield from map(_build_batch, batches)
        return
    # fork: the workers inherit _PLAN (keys included) without pickling it.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_build_batch, batches)


_Batch = tuple[list[Any], list[Any], list[Any], list[Any], list[Any]]


def _build_batch(batch: tuple[int, int, int]) -> _Batch:
    """The rows of one batch: data keys, cases, categories, indicators, messages.

    Each batch has its own random generator, derived from the seed and the
    batch number, so a seeded data set is the same however it is built.
    """
    number, first_id, size = batch
    plan = _PLAN
    assert plan is not None
    rng = random.Random(None if plan.seed is None else f"{plan.seed}:{number}")  # noqa: S311
    keys, cases, cats, inds, messages = [], [], [], [], []
    for case_id in range(first_id, first_id + size):
        key, row, codes, indicators, thread = _synthetic_case(rng, plan, case_id)
        keys.append(key)
        cases.append(row)
        cats.extend({"case_id": case_id, "category_code": c} for c in codes)
        inds.extend({"case_id": case_id, "indicator_code": i} for i in indicators)
        messages.extend(thread)
    if not plan.sqlite:
        return keys, cases, cats, inds, messages
    names = (
        DataKey.__tablename__,
        Case.__tablename__,
        case_categories.name,
        case_indicators.name,
        Message.__tablename__,
    )
    return tuple(  # type: ignore[return-value]
        _sqlite_rows(rows, plan.defaults[name])
        for rows, name in zip((keys, cases, cats, inds, messages), names, strict=True)
    )


def _defaults(table: Table) -> dict[str, Any]:
    """Column defaults of the table (SQLite rows are written without the ORM)."""
    return {
        column.name: column.default
        for column in table.c
        if isinstance(column.default, ColumnDefault) and not column.primary_key
    }


def _sqlite_rows(rows: list[dict[str, Any]], defaults: dict[str, Any]) -> Any:
    """(column names, value tuples) as SQLite's driver takes them."""
    if not rows:
        return ([], [])
    given = list(rows[0])
    extra = {
        name: default.arg(None) if default.is_callable else default.arg
        for name, default in defaults.items()
        if name not in rows[0]
    }
    tail = tuple(_sqlite_value(v) for v in extra.values())
    # Only the columns holding dates need their values written out: the
    # others go to the driver as they are. (Converting every value was a
    # sixth of the seeding's time: some two million calls a 20,000 cases.)
    dated = [
        i
        for i, name in enumerate(given)
        if isinstance(rows[0][name], datetime)
        or (rows[0][name] is None and any(isinstance(row[name], datetime) for row in rows))
    ]
    values = []
    for row in rows:
        line = [row[name] for name in given]
        for i in dated:
            if line[i] is not None:
                line[i] = _sqlite_date(line[i])
        values.append(tuple(line) + tail)
    return (given + list(extra), values)


def _insert(table: Table, rows: Any) -> None:
    """One multi-row INSERT: dict rows through SQLAlchemy, or on SQLite the
    (names, tuples) of `_sqlite_rows` straight to the driver (a third of the
    time would otherwise go to converting values)."""
    if not rows:
        return
    if db.engine.dialect.name == "postgresql":
        _copy(table, rows)
        return
    if db.engine.dialect.name != "sqlite":
        db.session.execute(insert(table), rows)
        return
    names, values = rows
    if not values:
        return
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    db.session.connection().exec_driver_sql(sql, values)


def _copy(table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY, several times faster than INSERT for a large load.
    Column defaults are filled in here, as an INSERT through the model would."""
    given = list(rows[0])
    extra = {k: d for k, d in _defaults(table).items() if k not in rows[0]}
    names = given + list(extra)
    tail = [d.arg(None) if d.is_callable else d.arg for d in extra.values()]
    cursor = db.session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(f'"{name}"' for name in names)
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[name] for name in given] + tail)


def _sqlite_value(value: Any) -> Any:
    # Booleans go as they are: the driver writes them as 1 and 0.
    return _sqlite_date(value) if isinstance(value, datetime) else value


def _sqlite_date(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DATETIME type writes (UTC fields,
    to the microsecond), made by isoformat, several times faster than strftime."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _has_cases() -> bool:
    return db.session.scalar(select(Case.id).limit(1)) is not None


def _synthetic_case(
    rng: random.Random, plan: _Plan, case_id: int
) -> tuple[dict, dict, list[str], list[str], list[dict]]:
    taxonomy, now, staff = plan.taxonomy, plan.now, plan.staff
    language = LANGUAGES.pick(rng)
    whatsapp = 0.5 if language in WHATSAPP_FIRST else 0.15
    roll = rng.random()
    channel = "whatsapp" if roll < whatsapp else ("sms" if roll < whatsapp + 0.15 else "web")
    picks = rng.choice((1, 1, 1, 2, 2, 3))
    codes = sorted({taxonomy.categories.pick(rng) for _ in range(picks)})
    urgency = min(taxonomy.urgency[c] for c in codes)
    if rng.random() < 0.01:
        urgency = "P0"  # a red flag in the worker's words
    age = rng.random() ** 2 * SPAN_DAYS  # more recent cases than old ones
    created = now - timedelta(days=age, seconds=rng.randrange(86_400))
    status = _status(rng, age)
    due = due_at(urgency, created)
    acknowledged = None
    if status != "new":
        acknowledged = created + timedelta(hours=rng.uniform(0.2, 30))
        due = acknowledged + timedelta(days=14 * rng.randint(1, 3))
    reference = _reference(case_id, plan.taken, rng)
    sealer = _Sealer(plan.ring, case_id)
    story = rng.choice(STORIES[language]).format(n=rng.randint(2, 60))
    sealer.narrative = story
    is_open = status in ("new", "acknowledged", "in_progress", "referred")
    row = {
        "id": case_id,
        "uid": sealer.uid,
        "data_key_id": sealer.key.dek_id,
        "reference": reference,
        "secret_hash": secrets.token_bytes(32),
        "status": status,
        "urgency": urgency,
        "urgency_reason": "intake",
        "language": language,
        "channel": channel,
        "prefecture": PREFECTURES.pick(rng) if rng.random() < 0.8 else f"{rng.randint(1, 47):02d}",
        "industry": rng.choice(INDUSTRIES),
        "residence_status": RESIDENCES.pick(rng),
        "in_danger": urgency == "P0",
        "contact_method": channel if channel != "web" else "web",
        "due_at": due,
        "assignee_id": rng.choice(staff) if staff and status != "new" else None,
        "unread_count": rng.choice((0, 0, 0, 1, 2)) if is_open else 0,
        "created_at": created,
        "updated_at": created,
        "acknowledged_at": acknowledged,
        "first_response_at": acknowledged,
        "resolved_at": created + timedelta(days=20) if status in ("resolved", "closed") else None,
        "closed_at": created + timedelta(days=30) if status == "closed" else None,
        "closure_reason": "resolved" if status == "closed" else None,
        "narrative_ct": sealer.narrative_ct,
    }
    key_row = {
        "id": sealer.key.dek_id,
        "kek_id": sealer.key.kek_id,
        "wrapped": sealer.key.wrapped,
        "created_at": created,
    }
    indicators = (
        sorted({i for c in codes for i in taxonomy.indicators.get(c, [])})
        if status != "new"
        else []
    )
    thread = _thread(rng, row, sealer.data_key_material(), STORIES[language], plan.now)
    return key_row, row, codes, indicators, thread


def _thread(
    rng: random.Random,
    case: dict[str, Any],
    key: tuple[str, bytes],
    stories: tuple[str, ...],
    now: datetime,
) -> list[dict[str, Any]]:
    """The case's messages, oldest first: the worker and staff in turn (a
    texted case starts with the worker's text, a web one with our reply to
    the form), some staff messages internal notes, then the unread ones
    from the worker. Spread over the case's life, up to its closing."""
    channel = case["channel"]
    low, high = THREAD_LENGTH[case["status"]]
    worker_turn = channel != "web"
    turns: list[str] = []
    for _ in range(rng.randint(low, high)):
        if case["status"] == "new" and not worker_turn:
            break  # nobody has answered a new case yet
        if worker_turn:
            turns.append("in")
        else:
            turns.append("note" if rng.random() < NOTE_SHARE else "out")
        worker_turn = not worker_turn
    turns += ["in"] * case["unread_count"]
    start = case["created_at"]
    span = (case["closed_at"] or case["resolved_at"] or now) - start
    times = sorted(start + span * rng.random() for _ in turns)
    rows = []
    for n, (turn, created) in enumerate(zip(turns, times, strict=True), start=2):
        message = _MessageSealer(key, _synthetic_uid(case["id"], n))
        staff = turn != "in"
        if staff:
            message.body = rng.choice(STAFF_LINES)
        else:
            message.body = rng.choice(stories).format(n=rng.randint(2, 60))
        if turn == "note":
            delivery = None
        elif staff:
            delivery = "waiting" if channel == "web" else "delivered"
        else:
            delivery = None
        rows.append(
            {
                "uid": message.uid,
                "data_key_id": key[0],
                "case_id": case["id"],
                "direction": "out" if staff else "in",
                "channel": "note" if turn == "note" else channel,
                "author_kind": "staff" if staff else "worker",
                "author_staff_id": case["assignee_id"] if staff else None,
                "internal": turn == "note",
                # A texted message carries its provider's id (unique).
                "provider_id": (
                    f"SM{rng.getrandbits(128):032x}" if turn == "in" and channel != "web" else None
                ),
                "delivery_status": delivery,
                "delivery_error": None,
                "created_at": created,
                "body_ct": message.body_ct,
            }
        )
    return rows


# Synthetic references: the case id through a bijection of all 8-character
# codes (an affine map modulo 31^8, with a multiplier prime to 31), so every
# batch, in any process, makes distinct ones without asking the others. No
# receipt is issued for them; same alphabet and length as real ones.
_CODES = len(crypto.RECEIPT_ALPHABET) ** 8
_MULTIPLIER = 0x5DEECE66D  # not a multiple of 31
_OFFSET = 0x2545F4914F


def _reference(case_id: int, taken: frozenset[str], rng: random.Random) -> str:
    n = (case_id * _MULTIPLIER + _OFFSET) % _CODES
    digits = []
    for _ in range(8):
        n, d = divmod(n, len(crypto.RECEIPT_ALPHABET))
        digits.append(crypto.RECEIPT_ALPHABET[d])
    reference = "".join(digits)
    # A case that existed before the load may hold it (about one in 10^6).
    while reference in taken:
        reference = "".join(rng.choices(crypto.RECEIPT_ALPHABET, k=8))
    return reference


def _advance_sequence() -> None:
    # Explicit ids leave PostgreSQL's sequence behind; move it past them.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"
            )
        )

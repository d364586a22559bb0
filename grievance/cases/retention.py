"""Retention: cases closed longer ago than the retention period are purged.

A purge is crypto-shredding followed by deletion. For each batch of expired
cases, in one transaction:

1. the cases are folded into `AggregateCount` by the same SQL expressions the
   reports use (`grievance.cases.aggregates`), so every count a report shows
   is the same after the purge as before it;
2. every row that belongs to the cases is deleted: messages, attachments,
   consents, referrals and their updates, clocks, escalations, messaging
   conversations, outbox rows, and whatever table is added later with a
   foreign key to cases (found from the schema, so a new table cannot be
   forgotten);
3. their data keys are destroyed: the cases' own keys always, any other key
   of a deleted row once no remaining row uses it;
4. a `case.purged` audit event is written per case (ids only). The audit
   trail itself is kept: it holds no personal data, and deleting from it
   would break its hash chain.

Each batch commits on its own, so an interrupted purge resumes where it
stopped; a case is locked while it is purged (PostgreSQL), so two purges
running at once never fold a case twice. On SQLite the deleted bytes are
overwritten (`secure_delete`) and the write-ahead log is truncated, so no
copy of a purged ciphertext or wrapped key is left in the file. PostgreSQL
keeps dead row versions until VACUUM; they stay unreadable once the key
rotation after them retires the old key-encryption key (see the README
notes in the report of this feature).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, Table, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from grievance.cases import audit, settings
from grievance.cases.aggregates import DIMENSIONS, count_statement, dialect_name
from grievance.cases.deadlines import JST
from grievance.cases.models import AggregateCount, Case, CaseStatus
from grievance.datakeys import DataKey, utcnow
from grievance.extensions import commit, db
from grievance.reports import rollup

log = logging.getLogger(__name__)

# Kept on purpose: the hash-chained audit trail (ids and codes only).
KEPT_TABLES = frozenset({"case_events"})
VALUE_CHARS = 40  # AggregateCount.value
DEFAULT_BATCH = 200


@dataclass(frozen=True)
class PurgePlan:
    """What a purge would do now: the cut-off and how many cases it takes."""

    retention_days: int
    cutoff: datetime
    count: int


def cutoff_for(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=settings.retention_days())


def _expired(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [
        Case.status == CaseStatus.CLOSED,
        Case.closed_at.is_not(None),
        Case.closed_at < cutoff,
    ]


def plan_purge(now: datetime | None = None) -> PurgePlan:
    """Count the cases a purge would delete; changes nothing (`--dry-run`)."""
    cutoff = cutoff_for(now)
    count = db.session.scalar(select(func.count(Case.id)).where(*_expired(cutoff))) or 0
    return PurgePlan(retention_days=settings.retention_days(), cutoff=cutoff, count=count)


def _claim_batch(cutoff: datetime, size: int) -> list[int]:
    # FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite serialises writers anyway):
    # a case being purged by another process is left to that process.
    stmt = (
        select(Case.id)
        .where(*_expired(cutoff))
        .order_by(Case.id)
        .limit(size)
        .with_for_update(skip_locked=True, of=Case.__table__)
    )
    return list(db.session.scalars(stmt))


# -- folding into the aggregate counts ----------------------------------------


def fold_into_aggregates(ids: Sequence[int], now: datetime | None = None) -> int:
    """Add the cases' counts to `AggregateCount` (flushes). Returns rows touched."""
    now = now or utcnow()
    where = [Case.id.in_(ids)]
    additions: dict[tuple[str, str, str], int] = defaultdict(int)
    for dimension in DIMENSIONS:
        stmt = count_statement(dimension, where, now, by_month=True)
        for period, value, n in db.session.execute(stmt):
            if value is None or period is None:
                continue
            additions[(period, dimension.name, str(value)[:VALUE_CHARS])] += int(n)
    if not additions:
        return 0
    # One atomic upsert per count: two purges running at once (or a purge
    # racing the daily one) add to the same row instead of colliding.
    insert = postgresql_insert if dialect_name() == "postgresql" else sqlite_insert
    table = AggregateCount.__table__
    for (period, dimension_name, value), n in sorted(additions.items()):
        stmt = insert(table).values(period=period, dimension=dimension_name, value=value, count=n)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.period, table.c.dimension, table.c.value],
                set_={"count": table.c.count + stmt.excluded.count},
            )
        )
    db.session.flush()
    return len(additions)


# -- what belongs to a case ----------------------------------------------------------


def owned_rows(ids: Sequence[int]) -> dict[Table, list[ColumnElement[bool]]]:
    """Every table holding rows that belong to the cases, with the conditions
    that select those rows (OR-ed), found from the schema's foreign keys.

    Directly under cases every reference counts (a messaging conversation
    points at its case with SET NULL, yet carries the worker's number);
    further down only ON DELETE CASCADE links mean "belongs to". Tables that
    sit below cases in the import order keep a plain `case_id` column
    without a foreign key (the outbox): those count too.
    """
    cases = Case.__table__
    tables = [t for t in db.metadata.sorted_tables if t.name not in KEPT_TABLES]
    owned: dict[Table, list[ColumnElement[bool]]] = defaultdict(list)
    frontier: list[tuple[Table, ColumnElement[bool] | None]] = [(cases, None)]
    for table in tables:
        column = table.c.get("case_id")
        if table is not cases and column is not None and not column.foreign_keys:
            condition = column.in_(ids)
            owned[table].append(condition)
            frontier.append((table, condition))
    seen: set[tuple[str, str]] = set()
    while frontier:
        parent, parent_condition = frontier.pop(0)
        for table in tables:
            if table is cases:
                continue
            for fk in table.foreign_keys:
                if fk.column.table is not parent:
                    continue
                edge = (table.name, fk.parent.name)
                if edge in seen:
                    continue
                if parent is not cases and (fk.ondelete or "").upper() != "CASCADE":
                    continue
                seen.add(edge)
                if parent is cases:
                    condition = fk.parent.in_(ids)
                else:
                    assert parent_condition is not None
                    condition = fk.parent.in_(select(fk.column).where(parent_condition))
                owned[table].append(condition)
                frontier.append((table, condition))
    return owned


def _key_ids(table: Table, conditions: list[ColumnElement[bool]]) -> set[str]:
    column = table.c.get("data_key_id")
    if column is None:
        return set()
    stmt = select(column).where(or_(*conditions), column.is_not(None)).distinct()
    return set(db.session.scalars(stmt))


def _still_used(key_ids: set[str]) -> set[str]:
    used: set[str] = set()
    if not key_ids:
        return used
    for table in db.metadata.sorted_tables:
        column = table.c.get("data_key_id")
        if column is None:
            continue
        used.update(db.session.scalars(select(column).where(column.in_(key_ids)).distinct()))
    return used


def purge_cases(ids: Sequence[int], *, now: datetime | None = None) -> int:
    """Fold, delete and shred the given cases (flushes; the caller commits).

    The caller chooses the cases; `purge_expired` chooses those past the
    retention period. Returns how many cases were deleted.
    """
    ids = list(ids)
    if not ids:
        return 0
    if dialect_name() == "sqlite":
        # Overwrite deleted content instead of leaving it in free pages.
        db.session.execute(text("PRAGMA secure_delete = ON"))
    fold_into_aggregates(ids, now)
    # Out of the live counts as they go into the kept ones.
    rollup.subtract(ids)
    owned = owned_rows(ids)
    case_keys = set(
        db.session.scalars(
            select(Case.data_key_id).where(Case.id.in_(ids), Case.data_key_id.is_not(None))
        )
    )
    other_keys: set[str] = set()
    for table, conditions in owned.items():
        other_keys |= _key_ids(table, conditions)
    other_keys -= case_keys
    # Children first, so every condition still finds its parent rows.
    for table in reversed(db.metadata.sorted_tables):
        if table in owned:
            db.session.execute(delete(table).where(or_(*owned[table])))
    deleted = db.session.execute(delete(Case.__table__).where(Case.__table__.c.id.in_(ids)))
    shredded = case_keys | (other_keys - _still_used(other_keys))
    if shredded:
        db.session.execute(delete(DataKey.__table__).where(DataKey.__table__.c.id.in_(shredded)))
    days = settings.retention_days()
    for case_id in ids:
        audit.record("case.purged", case_id=case_id, detail={"retention_days": days})
    # Objects loaded earlier in this session describe rows that are gone.
    db.session.expire_all()
    return int(deleted.rowcount or 0)


def purge_expired(
    *,
    batch_size: int = DEFAULT_BATCH,
    now: datetime | None = None,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Purge every case closed before the cut-off, one committed batch at a time.

    Like key rotation, this is a unit of work per batch (called by the CLI
    command and the daily schedule, which own no other work), so an
    interruption loses at most the batch in progress. Returns the number
    of cases purged.
    """
    cutoff = cutoff_for(now)
    done = 0
    while True:
        ids = _claim_batch(cutoff, batch_size)
        if not ids:
            db.session.rollback()
            break
        count = purge_cases(ids, now=now)
        commit()
        done += count
        if progress is not None:
            progress(count)
    if done:
        rollup.refresh(now)
    _truncate_sqlite_log()
    return done


def _truncate_sqlite_log() -> None:
    """Fold the write-ahead log into the file and empty it (file databases)."""
    if dialect_name() != "sqlite":
        return
    try:
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - best effort; the next purge retries
        db.session.rollback()
        log.warning("could not truncate the SQLite write-ahead log: %s", type(exc).__name__)


# -- the daily schedule (production) ----------------------------------------------------

LOCK_PREFIX = "grievance:retention:purge:"
LOCK_SECONDS = 2 * 24 * 3600


def daily_tick(app: Flask, connection: Any, now: datetime | None = None) -> int | None:
    """Run today's purge unless some process already ran it.

    One Redis key per Japan day (SET NX) elects a single runner among all
    worker processes. Returns the number purged, or None when another
    process had the day already. A failed purge releases the day so that
    the next tick retries.
    """
    day = (now or utcnow()).astimezone(JST).strftime("%Y-%m-%d")
    key = LOCK_PREFIX + day
    if not connection.set(key, "1", nx=True, ex=LOCK_SECONDS):
        return None
    try:
        with app.app_context():
            count = purge_expired(now=now)
    except Exception:
        connection.delete(key)
        raise
    log.info("daily retention purge: %d cases purged", count)
    return count


def _run_daily(app: Flask, connection: Any, interval: float, stop: threading.Event) -> None:
    while True:
        try:
            daily_tick(app, connection)
        except Exception as exc:  # noqa: BLE001 - keep the schedule alive
            log.warning("daily retention purge failed: %s", type(exc).__name__)
        if stop.wait(interval):
            return


def start_daily_purge(app: Flask, interval: float = 3600.0) -> threading.Event:
    """Start the daily purge beside an RQ worker; set the event to stop it.

    Every worker may start one: the Redis day key lets only one of them
    purge each day. Checked hourly, so a day's purge runs within an hour
    of midnight in Japan, or of the first worker's start.
    """
    from redis import Redis

    connection = Redis.from_url(app.config["REDIS_URL"])
    stop = threading.Event()
    threading.Thread(
        target=_run_daily,
        args=(app, connection, interval, stop),
        name="retention-daily",
        daemon=True,
    ).start()
    return stop

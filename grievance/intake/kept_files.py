"""Files chosen on a report form that must be corrected, kept for the next try.

Browsers cannot fill a file field again, so a worker whose form came back
(a missing story, a wrong phone number) used to lose the photos they had
chosen, often over a slow connection. Now the files are cleaned and kept:

* Sealed, each batch under its own data key, in `kept_files`.
* Found only by the keyed hash of a random token held in the worker's
  session cookie: never in a URL, a form field or a log.
* Sent with the report, then deleted with their keys in the same
  transaction; dropped when the worker starts a new report; deleted with
  their keys by the periodic work once KEEP_FOR has passed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import session
from sqlalchemy import ColumnElement, and_, delete, func, select

from grievance import crypto
from grievance.datakeys import DataKey, utcnow
from grievance.extensions import commit, db
from grievance.intake.models import KeptFile
from grievance.intake.uploads import CleanFile

KEEP_FOR = timedelta(hours=1)
SESSION_KEY = "kept_files"


@dataclass(frozen=True)
class Kept:
    """What the form shows of a kept file."""

    uid: str
    filename: str
    size: int


def _token_hash(token: str) -> str:
    return crypto.keyed_digest(crypto.current_ring(), "kept-files", token)


def _mine() -> ColumnElement[bool] | None:
    """This session's unexpired kept files, as a condition; None without any."""
    token = session.get(SESSION_KEY)
    if not token:
        return None
    return and_(
        KeptFile.token_hash == _token_hash(token),
        KeptFile.created_at >= utcnow() - KEEP_FOR,
    )


def _rows() -> list[KeptFile]:
    mine = _mine()
    if mine is None:
        return []
    return list(db.session.scalars(select(KeptFile).where(mine).order_by(KeptFile.id)))


def count() -> int:
    """How many files this worker has kept (nothing decrypted)."""
    mine = _mine()
    if mine is None:
        return 0
    return int(db.session.scalar(select(func.count()).select_from(KeptFile).where(mine)) or 0)


def listed() -> list[Kept]:
    """This worker's kept files, oldest first."""
    return [Kept(row.uid, row.filename or "", row.size) for row in _rows()]


def keep(files: list[CleanFile]) -> None:
    """Seal `files` for this worker's next try (flushes; the caller commits)."""
    if not files:
        return
    token = session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(24)
        session[SESSION_KEY] = token
    key = DataKey.create()
    for item in files:
        row = KeptFile(
            data_key=key,
            token_hash=_token_hash(token),
            content_type=item.content_type,
            size=len(item.data),
        )
        row.filename = item.filename
        row.data = item.data
        db.session.add(row)
    db.session.flush()


def take() -> list[CleanFile]:
    """The kept files, to send with the report; deletes them (flushes).

    The files then live in the case, under its key, and the kept copies go
    in the same transaction.
    """
    rows = _rows()
    files = [CleanFile(row.filename or "", row.content_type, row.data or b"") for row in rows]
    _delete(rows)
    session.pop(SESSION_KEY, None)
    return files


def remove(uids: set[str]) -> None:
    """Delete the kept files the worker chose to remove (flushes)."""
    _delete([row for row in _rows() if row.uid in uids])


def forget() -> None:
    """A new report starts with nothing kept (flushes)."""
    _delete(_rows())
    session.pop(SESSION_KEY, None)


def _delete(rows: list[KeptFile]) -> None:
    if not rows:
        return
    keys = {row.data_key_id for row in rows if row.data_key_id}
    db.session.execute(delete(KeptFile).where(KeptFile.id.in_([row.id for row in rows])))
    _drop_unused_keys(keys)
    db.session.flush()


def _drop_unused_keys(keys: set[str]) -> None:
    # Each batch has its own key; another batch of the same worker may
    # still use none of these, but check rather than assume.
    if not keys:
        return
    used = set(
        db.session.scalars(
            select(KeptFile.data_key_id).where(KeptFile.data_key_id.in_(keys)).distinct()
        )
    )
    gone = keys - used
    if gone:
        db.session.execute(delete(DataKey).where(DataKey.id.in_(gone)))


def purge_expired() -> int:
    """Periodic work: delete kept files older than KEEP_FOR, with their keys."""
    rows = db.session.execute(
        select(KeptFile.id, KeptFile.data_key_id).where(KeptFile.created_at < utcnow() - KEEP_FOR)
    ).all()
    if not rows:
        return 0
    db.session.execute(delete(KeptFile).where(KeptFile.id.in_([r.id for r in rows])))
    _drop_unused_keys({r.data_key_id for r in rows if r.data_key_id})
    commit()
    return len(rows)

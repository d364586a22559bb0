"""Key rotation: a new key-encryption key, then every data key re-wrapped.

Only the small wrapped-key rows change; case content stays as it is. Each
batch commits on its own, so an interrupted rotation resumes where it
stopped, and the running service keeps reading throughout: old keys stay
loaded until `retire` removes them, and other processes pick up the new key
from the keys file when they first meet it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from grievance import crypto
from grievance.datakeys import DataKey
from grievance.extensions import commit, db


class RotationError(Exception):
    pass


def add_key(ring: crypto.KeyRing) -> str:
    if ring.source is None:
        raise RotationError(
            "keys come from GRIEVANCE_KEYS: add the new key there, make it active, "
            "restart, then run rotate-keys --resume"
        )
    kid = ring.add_kek()
    ring.save(ring.source)
    return kid


def count_to_rewrap(ring: crypto.KeyRing) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.kek_id != ring.active)
        )
        or 0
    )


def rewrap_all(
    ring: crypto.KeyRing,
    batch_size: int = 500,
    progress: Callable[[int], object] | None = None,
) -> int:
    done = 0
    while True:
        batch = db.session.scalars(
            select(DataKey)
            .where(DataKey.kek_id != ring.active)
            .order_by(DataKey.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return done
        for row in batch:
            fresh = crypto.rewrap_data_key(ring, row.as_wrapped())
            row.kek_id, row.wrapped = fresh.kek_id, fresh.wrapped
        commit()
        done += len(batch)
        if progress:
            progress(len(batch))


def verify_all(ring: crypto.KeyRing, batch_size: int = 2000) -> tuple[int, int]:
    """Unwrap every data key with the loaded keys: (checked, failed).

    The clear keys are dropped at once; only the count of failures is kept.
    Reads in id order one batch at a time, so memory stays flat.
    """
    checked = failed = 0
    last = ""
    while True:
        rows = db.session.execute(
            select(DataKey.id, DataKey.kek_id, DataKey.wrapped)
            .where(DataKey.id > last)
            .order_by(DataKey.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return checked, failed
        for dek_id, kek_id, wrapped in rows:
            key = crypto.WrappedKey(dek_id=dek_id, kek_id=kek_id, wrapped=bytes(wrapped))
            try:
                crypto.unwrap_data_key(ring, key)
            except crypto.CryptoError:
                failed += 1
            checked += 1
        last = rows[-1][0]


def retire(ring: crypto.KeyRing, kek_id: str) -> int:
    """Remove `kek_id` from the keys once nothing needs it; returns keys checked.

    Two checks first: no data key is wrapped under it any more, and every
    data key unwraps with the keys that stay (so retiring loses nothing).
    """
    in_use = db.session.scalar(
        select(func.count()).select_from(DataKey).where(DataKey.kek_id == kek_id)
    )
    if in_use:
        raise RotationError(f"{in_use} data keys are still wrapped under {kek_id}")
    checked, failed = verify_all(ring)
    if failed:
        raise RotationError(f"{failed} of {checked} data keys do not unwrap; {kek_id} is kept")
    if ring.source is None:
        raise RotationError("keys come from GRIEVANCE_KEYS: remove the key there")
    try:
        ring.retire_kek(kek_id)
    except crypto.CryptoError as exc:
        raise RotationError(str(exc)) from None
    ring.save(ring.source)
    return checked

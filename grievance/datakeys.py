"""Per-case data keys, stored only wrapped, and the mixin for sealed rows.

A case, its messages, attachments and outbox rows share one data key, so
destroying that key (retention) makes all of them unreadable at once, and
rotation re-wraps one small row per case instead of re-encrypting content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from grievance import crypto
from grievance.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored time with its zone: SQLite hands back naive datetimes, and
    every time is stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class DataKey(db.Model):
    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=crypto.new_key_id)
    kek_id: Mapped[str] = mapped_column(String(16), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @classmethod
    def create(cls) -> DataKey:
        """A fresh random data key, wrapped under the active key-encryption key."""
        new = KeyAtHand.new()
        key = cls(id=new.id, kek_id=new.kek_id, wrapped=new.wrapped)
        # As `material` would keep it once unwrapped: a new key seals its
        # row's fields right away, without unwrapping what was just wrapped.
        key.__dict__["_clear"] = new.clear
        return key

    def as_wrapped(self) -> crypto.WrappedKey:
        return crypto.WrappedKey(dek_id=self.id, kek_id=self.kek_id, wrapped=self.wrapped)

    def material(self) -> bytes:
        # Unwrapped once per loaded row; the clear key lives only in memory.
        cached: bytes | None = self.__dict__.get("_clear")
        if cached is None:
            cached = crypto.unwrap_data_key(crypto.current_ring(), self.as_wrapped())
            self.__dict__["_clear"] = cached
        return cached


@dataclass(frozen=True, slots=True)
class KeyAtHand:
    """A data key outside the ORM: its id, wrapped form and clear key.

    For the requests that write their rows in one statement (a held report,
    an inbound message): they seal their rows' fields with it exactly as the
    models would, without building a mapped instance for each row only to
    seal (about 4 % of a webhook's instructions, 2 % of a report's).
    """

    id: str
    kek_id: str
    wrapped: bytes
    clear: bytes

    @classmethod
    def new(cls) -> KeyAtHand:
        """A fresh random data key, wrapped under the active key-encryption key."""
        dek_id = crypto.new_key_id()
        wrapped, clear = crypto.new_data_key(crypto.current_ring(), dek_id)
        return cls(id=dek_id, kek_id=wrapped.kek_id, wrapped=wrapped.wrapped, clear=clear)

    @classmethod
    def stored(cls, dek_id: str, kek_id: str, wrapped: bytes) -> KeyAtHand:
        """A stored key, unwrapped."""
        as_stored = crypto.WrappedKey(dek_id=dek_id, kek_id=kek_id, wrapped=wrapped)
        clear = crypto.unwrap_data_key(crypto.current_ring(), as_stored)
        return cls(id=dek_id, kek_id=kek_id, wrapped=wrapped, clear=clear)

    def seal(self, model: type, field: str, uid: str, value: str | bytes) -> bytes:
        """What `model`'s encrypted `field` holds for `value` in the row
        `uid` under this key."""
        encrypted: crypto.EncryptedField = getattr(model, field)
        return encrypted.seal_value(model.__tablename__, uid, self.id, self.clear, value)


def key_material(key: DataKey | None) -> tuple[str, bytes]:
    """A sealed row's key id and clear key, for `crypto.EncryptedField`;
    DecryptionError once the key was destroyed (the row was shredded)."""
    if key is None:
        raise crypto.DecryptionError("this row's data key was destroyed")
    return key.id, key.material()


class SealedRow:
    """Mixin for rows with encrypted fields: a random uid and a data key."""

    __tablename__: str

    uid: Mapped[str] = mapped_column(String(32), unique=True)

    @declared_attr
    def data_key_id(cls) -> Mapped[str | None]:  # noqa: N805 - SQLAlchemy API
        return mapped_column(ForeignKey("data_keys.id", ondelete="SET NULL"), index=True)

    @declared_attr
    def data_key(cls) -> Mapped[DataKey | None]:  # noqa: N805
        return relationship(DataKey, lazy="joined")

    def __init__(self, **kwargs: Any) -> None:
        # uid and key first: encrypted fields in kwargs need both to seal.
        self.uid = kwargs.pop("uid", None) or crypto.new_uid()
        if "data_key" in kwargs:
            self.data_key = kwargs.pop("data_key")
        for name, value in kwargs.items():
            setattr(self, name, value)

    def data_key_material(self) -> tuple[str, bytes]:
        return key_material(self.data_key)

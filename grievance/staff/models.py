"""Staff accounts: caseworkers, advisors of a partner, admins."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grievance.crypto import EncryptedBytes, EncryptedField
from grievance.datakeys import SealedRow, utcnow
from grievance.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    CASEWORKER = "caseworker"
    ADVISOR = "advisor"


class StaffUser(SealedRow, UserMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Replay guard: the TOTP time step of the last accepted code.
    last_totp_step: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on logout, disable and 2FA reset: every older session cookie dies.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    # ja or en: the language of the staff pages, kept across logins and devices.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_secret_ct: Mapped[bytes | None] = mapped_column(EncryptedBytes)

    totp_secret = EncryptedField("totp_secret_ct")

    def get_id(self) -> str:
        # Flask-Login stores this in the session; the epoch makes old
        # cookies useless once the server bumps it.
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_active(self) -> bool:
        return not self.disabled

    @property
    def label(self) -> str:
        return self.display_name or self.email.split("@")[0]

"""Staff account operations: creation, password and TOTP checks, lockout.

Services flush; the caller commits. Every failure path looks the same to
the person logging in (no hint whether the e-mail exists), and every
failure counts towards the lockout.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import pyotp
from flask import current_app
from sqlalchemy import func, select

from grievance import crypto
from grievance.datakeys import DataKey, as_utc, utcnow
from grievance.extensions import db
from grievance.staff.models import Role, StaffUser

TOTP_ISSUER = "Grievance desk"
TOTP_INTERVAL = 30


class StaffError(Exception):
    """Base of the staff service errors."""


class InvalidAccountError(StaffError):
    pass


class LoginResult(enum.Enum):
    OK = "ok"
    BAD = "bad"  # wrong e-mail, password or code
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class NewAccount:
    user: StaffUser
    password: str
    totp_secret: str


def _hasher() -> crypto.PasswordHasher:
    return crypto.password_hasher(
        current_app.config.get("ARGON2_TIME_COST"), current_app.config.get("ARGON2_MEMORY_COST")
    )


def find_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(
        select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())
    )


def create_user(
    email: str,
    role: str,
    partner_id: int | None = None,
    *,
    password: str | None = None,
    is_demo: bool = False,
    display_name: str = "",
) -> NewAccount:
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise InvalidAccountError(f"unknown role {role!r}")
    if role == Role.ADVISOR and partner_id is None:
        raise InvalidAccountError("an advisor belongs to a partner: give --partner CODE")
    if role != Role.ADVISOR and partner_id is not None:
        raise InvalidAccountError("only advisors belong to a partner")
    if "@" not in email or len(email) > 200:
        raise InvalidAccountError("not an e-mail address")
    if find_by_email(email) is not None:
        raise InvalidAccountError("an account with this e-mail exists")
    password = password or crypto.new_password()
    secret = pyotp.random_base32()
    user = StaffUser(
        data_key=DataKey.create(),
        email=email,
        role=role,
        partner_id=partner_id,
        password_hash=crypto.hash_password(_hasher(), password),
        is_demo=is_demo,
        display_name=display_name,
    )
    user.totp_secret = secret
    db.session.add(user)
    db.session.flush()
    return NewAccount(user=user, password=password, totp_secret=secret)


def is_locked(user: StaffUser, now: datetime | None = None) -> bool:
    until = as_utc(user.locked_until)
    return until is not None and until > (now or utcnow())


def _count_failure(user: StaffUser) -> None:
    user.failed_logins += 1
    if user.failed_logins >= current_app.config["STAFF_MAX_FAILED_LOGINS"]:
        user.locked_until = utcnow() + current_app.config["STAFF_LOCKOUT"]
        user.failed_logins = 0


def check_password(user: StaffUser | None, password: str) -> LoginResult:
    """First factor. A missing user still costs one hash, against timing probes."""
    hasher = _hasher()
    if user is None:
        crypto.check_password(hasher, _DUMMY_HASH.get(hasher), password)
        return LoginResult.BAD
    if user.disabled:
        return LoginResult.DISABLED
    if is_locked(user):
        return LoginResult.LOCKED
    if not crypto.check_password(hasher, user.password_hash, password):
        _count_failure(user)
        return LoginResult.LOCKED if is_locked(user) else LoginResult.BAD
    if crypto.password_needs_rehash(hasher, user.password_hash):
        user.password_hash = crypto.hash_password(hasher, password)
    return LoginResult.OK


class _DummyHash:
    """A hash with the current parameters, made once, for unknown e-mails."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], str] = {}

    def get(self, hasher: crypto.PasswordHasher) -> str:
        key = (hasher.time_cost, hasher.memory_cost)
        if key not in self._cache:
            self._cache[key] = hasher.hash(crypto.new_password())
        return self._cache[key]


_DUMMY_HASH = _DummyHash()


def totp_for(user: StaffUser) -> pyotp.TOTP:
    return pyotp.TOTP(user.totp_secret, interval=TOTP_INTERVAL, issuer=TOTP_ISSUER)


def provisioning_uri(user: StaffUser) -> str:
    return totp_for(user).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def check_totp(user: StaffUser, code: str, now: datetime | None = None) -> LoginResult:
    """Second factor, with a replay guard: each time step is accepted once."""
    if user.disabled:
        return LoginResult.DISABLED
    if is_locked(user):
        return LoginResult.LOCKED
    code = "".join(ch for ch in code if ch.isdigit())
    now = now or utcnow()
    totp = totp_for(user)
    step_now = int(now.timestamp()) // TOTP_INTERVAL
    # One step of clock drift either way.
    for step in (step_now, step_now - 1, step_now + 1):
        if len(code) == 6 and totp.at(step * TOTP_INTERVAL) == code:
            if step <= user.last_totp_step:
                break  # replayed: a code, once used, is refused
            user.last_totp_step = step
            user.failed_logins = 0
            user.totp_confirmed = True
            user.last_login_at = now
            return LoginResult.OK
    _count_failure(user)
    return LoginResult.LOCKED if is_locked(user) else LoginResult.BAD


def current_code(user: StaffUser) -> str:
    """The code an authenticator would show now (demo accounts only)."""
    return totp_for(user).now()


def end_sessions(user: StaffUser) -> None:
    """Invalidate every session of this user on the server side."""
    user.session_epoch += 1


def set_disabled(user: StaffUser, disabled: bool) -> None:
    user.disabled = disabled
    end_sessions(user)


def reset_two_factor(user: StaffUser) -> str:
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_confirmed = False
    user.last_totp_step = 0
    end_sessions(user)
    return secret


def set_password(user: StaffUser, password: str) -> None:
    user.password_hash = crypto.hash_password(_hasher(), password)

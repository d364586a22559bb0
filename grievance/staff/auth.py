"""Staff sessions: loading the user, server-side invalidation, timeouts, roles.

The session cookie holds "user id:epoch". Bumping the epoch in the database
(logout, disable, 2FA reset) makes every older cookie useless, even one
copied before logout. Idle (30 min) and absolute (12 h) limits are checked
on every staff request from times kept in the signed session.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from grievance import driver
from grievance.extensions import db, login_manager
from grievance.i18n import STAFF_LANGUAGES
from grievance.staff.models import StaffUser

F = TypeVar("F", bound=Callable[..., Any])

STAFF_PREFIXES = ("/staff", "/advisor", "/admin")
SEEN_STEP = 15  # seconds


@functools.cache
def _account_statement() -> tuple[Select, tuple[str, ...]]:
    """The session's account, read on every staff request: its columns, by
    a statement built once, and the attribute each column fills."""
    columns = StaffUser.__mapper__.column_attrs
    statement = select(*(attr.columns[0] for attr in columns)).where(
        StaffUser.__table__.c.id == bindparam("user_id", type_=Integer)
    )
    return statement, tuple(attr.key for attr in columns)


def _attached(values: dict[str, Any]) -> StaffUser:
    """The account as the request's session would have loaded it.

    Loaded by the ORM, the account was an eighth of a queue page's time:
    working out the statement's cache key, then the loading machinery for
    one row. Here the row is read as plain columns (`driver.session_rows`)
    and the instance made from them: its values set as loaded (no history,
    so nothing to write back), then given to the session, where it is
    persistent like any account it loads. Its data key, which only the
    two-factor pages use, loads when first read.
    """
    found = db.session.identity_map.get(identity_key(StaffUser, values["id"]))
    if found is not None:
        return found  # type: ignore[no-any-return]
    user: StaffUser = StaffUser.__mapper__.class_manager.new_instance()
    for key, value in values.items():
        set_committed_value(user, key, value)
    make_transient_to_detached(user)
    db.session.add(user)
    return user


@login_manager.user_loader
def load_user(user_key: str) -> StaffUser | None:
    try:
        user_id, epoch = (int(part) for part in user_key.split(":", 1))
    except ValueError:
        return None
    statement, keys = _account_statement()
    rows = driver.session_rows(statement, {"user_id": user_id})
    if not rows:
        return None
    values = dict(zip(keys, rows[0], strict=True))
    if values["disabled"] or values["session_epoch"] != epoch:
        return None
    return _attached(values)


def start_session(user: StaffUser) -> None:
    """Both factors passed: a fresh session (no fixation), then log in.

    The pages then speak the account's language; an account without one
    takes the language chosen on the login page, if any.
    """
    chosen = session.get("staff_lang")
    session.clear()
    login_user(user, remember=False)
    now = int(time.time())
    session["auth_at"] = now
    session["seen_at"] = now
    language = user.language if user.language in STAFF_LANGUAGES else chosen
    if language in STAFF_LANGUAGES:
        session["staff_lang"] = language


def end_session() -> None:
    logout_user()
    session.clear()


def _no_identifier() -> str:
    return ""


def init_app(app: Flask) -> None:
    login_manager.login_view = "staff.login"
    login_manager.login_message = None  # type: ignore[assignment]
    login_manager.session_protection = None  # our epochs and timeouts do this job
    # Flask-Login would still put its "session identifier" in the cookie: an
    # unkeyed SHA-512 of the client's address (taken from X-Forwarded-For,
    # unchecked) and user agent, which anyone holding the cookie can reverse
    # by trying every IPv4 address. With session protection off nothing reads
    # it, so it carries nothing.
    login_manager._session_identifier_generator = _no_identifier
    # Keep the page asked for out of the login URL (and so out of logs).
    app.config["USE_SESSION_FOR_NEXT"] = True

    @app.before_request
    def _staff_session_limits() -> Any:
        if not request.path.startswith(STAFF_PREFIXES):
            return None
        if not current_user.is_authenticated:
            return None
        now = int(time.time())
        idle = app.config["STAFF_IDLE_TIMEOUT"].total_seconds()
        absolute = app.config["STAFF_ABSOLUTE_TIMEOUT"].total_seconds()
        if now - session.get("seen_at", 0) > idle or now - session.get("auth_at", 0) > absolute:
            end_session()
            return redirect(url_for("staff.login"))
        # Written at most every SEEN_STEP seconds: an unchanged session is
        # not signed and sent again with every page (the idle limit is
        # minutes long, so it moves by at most this step).
        if now - session.get("seen_at", 0) >= SEEN_STEP:
            session["seen_at"] = now
        return None


def require_role(*roles: str) -> Callable[[F], F]:
    """Logged in, with one of `roles`; otherwise the login page or 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator

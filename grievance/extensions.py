"""Flask extensions, created unbound so any module can import them safely.

`create_app` binds them with `init_app`. This module imports nothing from the
application but `grievance.csrf_tokens` (which imports only
`grievance.signing`), so it can sit at the bottom of the import graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BindParameter, Executable, MetaData, Row, Table, bindparam, event
from sqlalchemy.orm import DeclarativeBase, Session

from grievance.csrf_tokens import CSRFProtection

# Stable constraint names, so Alembic migrations work the same on SQLite
# (batch mode) and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtection()


def row_lock(model: Any) -> dict[str, object] | None:
    """`with_for_update` for a row read in order to change it: two workers
    then take turns on it. On PostgreSQL the lock is on the model's own
    table only (a sealed row's data key is joined in, and a lock cannot
    reach the nullable side of that join); SQLite's writers already take
    turns on the whole file."""
    if db.engine.dialect.name == "postgresql":
        return {"of": model.__table__}
    return None


_AFTER_COMMIT = "grievance.after_commit"
# Set while a unit of work runs on a connection of its own, outside the
# session (grievance.short_writes): its callbacks wait for its commit.
_OWN_UNIT: ContextVar[list[Callable[[], Any]] | None] = ContextVar(
    "grievance_own_unit", default=None
)


def column_rows(
    statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """The rows of a SELECT of plain columns (no mapped objects), run on the
    session's connection, in its transaction.

    `db.session.execute` has no object to load for such a statement, yet
    its ORM layer costs about 0.2 ms a query; the queue's hot queries skip
    it. Pending changes are flushed first, as the session's autoflush would.

    Hot statements are built once, with their values bound when they run
    (`params`): a statement run again as the same object skips SQLAlchemy's
    cache key and the matching of its result columns to the cached
    statement's, about 0.3 ms a query (measured in-process). The queue, the
    case thread, the audit head, the reference check and the conversation
    look-up are kept that way.
    """
    db.session.flush()
    return db.session.connection().execute(statement, params).all()


def bound(table: Table, names: Sequence[str], prefix: str = "") -> dict[str, BindParameter[Any]]:
    """Each named column of `table` as a parameter of the column's own type
    (named `prefix` + the column's name), for a statement built once whose
    values are bound when it runs: the type still checks and converts them
    (a sealed column refuses clear text, SQLite's dates keep their form)."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


def after_commit(callback: Callable[[], Any]) -> None:
    """Run `callback` once the current unit of work has committed.

    Used for work that must never run for a transaction that rolled back,
    such as enqueueing the delivery of an outbox row.
    """
    own = _OWN_UNIT.get()
    if own is not None:
        own.append(callback)
        return
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def commit() -> None:
    """Commit the unit of work, then run what waited for the commit.

    Views, webhooks, jobs and CLI commands call this; services only flush.
    A failing callback raises after the data is safely committed (the
    outbox sweeper will retry what it was about to do).

    A request that never used its session has nothing to commit: no
    session is built for it.
    """
    if not db.session.registry.has():
        return
    db.session.commit()
    callbacks = db.session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        callback()


@contextmanager
def own_commit_callbacks() -> Iterator[list[Callable[[], Any]]]:
    """Inside the block, `after_commit` keeps its callbacks in the list
    given, for a unit of work that commits on a connection of its own."""
    waiting: list[Callable[[], Any]] = []
    token = _OWN_UNIT.set(waiting)
    try:
        yield waiting
    finally:
        _OWN_UNIT.reset(token)


@event.listens_for(Session, "after_rollback")
def _forget_callbacks(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)

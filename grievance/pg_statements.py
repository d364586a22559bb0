"""PostgreSQL: prepared statements that outlive the request, and no
transaction for what only reads.

psycopg prepares a statement on the server once a connection has run it
five times; from then on the server neither parses nor plans it again. But
psycopg forgets every prepared statement at each ROLLBACK, and nearly every
request ends with one: Flask-SQLAlchemy closes the request's session, and a
session that only read rolls its transaction back. So a statement run once
a request was never prepared, and every page planned its queries anew:
0.3-0.5 ms of planning for each of the queue's statements (EXPLAIN
ANALYZE, warm).

A transaction that only read ends the same way whether it commits or rolls
back: nothing to keep, nothing to undo, every lock released. This
connection ends such a transaction with COMMIT, which keeps the prepared
statements. Any other statement (INSERT, UPDATE, DELETE, DDL, SAVEPOINT,
SET, COPY, a SELECT ... INTO, a SELECT that calls pg_notify or set_config,
whose effects a rollback undoes), a failed statement or a failed COMMIT
gets the real ROLLBACK, exactly as before.

A read with no row lock is also sent without BEGIN while no transaction is
open: PostgreSQL runs it alone, as its own transaction. At READ COMMITTED
(the server's default, checked when the connection opens) every statement
takes its own snapshot even inside a transaction, so it sees exactly what
it would have seen. What comes next is unchanged: the first write, locking
read, SAVEPOINT or SET opens the transaction, and everything from there on
commits or rolls back together. A request that only reads so saves two
round trips to the server, the BEGIN and the COMMIT (about 0.15 ms each
here).

A write can go the same way where its caller says it is a whole unit of
work (`alone`): the signed webhook stores its message, and the report form
seals its report, in one statement, then commit. Sent while no transaction
is open, such a statement is its own transaction: PostgreSQL commits it,
durably, before it answers, or undoes all of it; the COMMIT that follows
finds nothing open and sends nothing. One round trip instead of three. A
statement in the block that finds a transaction open (the form deleted
files kept for it first, say) joins it as usual, so what must commit
together still does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

_UNDONE_BY_ROLLBACK = ("PG_NOTIFY", "SET_CONFIG")
# A row lock lasts until the end of its transaction: such a read needs one.
_ROW_LOCKS = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE")
# What `alone` sends as its own transaction: data changes, never a
# SAVEPOINT, SET or DDL.
_DATA_CHANGES = ("INSERT", "UPDATE", "DELETE", "WITH")


def _only_reads(query: Any) -> bool:
    """True for a plain SELECT (or an empty statement). Anything else counts
    as a write: a wrong "write" only costs the cache, a wrong "read" would
    keep a change."""
    if not isinstance(query, str):
        return False
    text = query.strip()
    if text == ";":
        return True  # SQLAlchemy's pre-ping: an empty statement
    upper = text.upper()
    return (
        upper.startswith("SELECT")
        and " INTO " not in upper
        # Functions whose effect a rollback undoes (a notification, a setting).
        and not any(name in upper for name in _UNDONE_BY_ROLLBACK)
    )


def _takes_no_lock(query: str) -> bool:
    """For a read: True unless it locks rows (SELECT ... FOR UPDATE)."""
    upper = query.upper()
    return not any(lock in upper for lock in _ROW_LOCKS)


def _may_go_alone(conn: Any) -> bool:
    return bool(
        conn._reads_alone
        and conn.pgconn.transaction_status == TransactionStatus.IDLE
        and not conn._autocommit
        # A plain BEGIN: no isolation level, read-only or deferrable set.
        and conn._get_tx_start_command() == b"BEGIN"
    )


def _changes_data(query: Any) -> bool:
    return isinstance(query, str) and query.lstrip().upper().startswith(_DATA_CHANGES)


class _TrackingCursor(psycopg.Cursor[Any]):
    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        conn = self.connection
        if _only_reads(query):
            alone = _takes_no_lock(query) and _may_go_alone(conn)
        else:
            alone = conn._writes_alone and _changes_data(query) and _may_go_alone(conn)  # type: ignore[attr-defined]
            if not alone:
                conn._wrote = True  # type: ignore[attr-defined]
        if alone:
            # Sent without BEGIN (see the module's note); psycopg sends it
            # before a statement only when autocommit is off, and a
            # connection with no transaction open may switch freely.
            conn._autocommit = True
            try:
                return super().execute(query, params, **kwargs)
            finally:
                conn._autocommit = False
        return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        self.connection._wrote = True  # type: ignore[attr-defined]
        super().executemany(query, params_seq, **kwargs)

    def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        self.connection._wrote = True  # type: ignore[attr-defined]
        return super().copy(statement, params, **kwargs)


class KeepingConnection(psycopg.Connection[Any]):
    """A psycopg connection that keeps its prepared statements when a
    transaction that only read is rolled back, and sends reads outside a
    transaction while none is open (see the module's note)."""

    _wrote = False
    # Inside `alone`: a data change finding no transaction open is its own.
    _writes_alone = False
    # Reads go without a transaction only where the server's default
    # isolation is READ COMMITTED (a statement's own snapshot either way).
    _reads_alone = False

    @classmethod
    def open(cls, *args: Any, **kwargs: Any) -> KeepingConnection:
        kwargs.setdefault("cursor_factory", _TrackingCursor)
        conn = cls.connect(*args, **kwargs)
        conn.autocommit = True
        try:
            level = conn.execute("SHOW default_transaction_isolation").fetchone()
        finally:
            conn.autocommit = False
        conn._wrote = False  # (SHOW counts as a write; it changed nothing)
        conn._reads_alone = level is not None and level[0] == "read committed"
        return conn

    def commit(self) -> None:
        self._wrote = False
        super().commit()

    def rollback(self) -> None:
        wrote, self._wrote = self._wrote, False
        if not wrote and self.info.transaction_status == TransactionStatus.INTRANS:
            try:
                super().commit()
                return
            except psycopg.Error:
                pass  # the server refused the COMMIT: roll back as asked
        super().rollback()


def alone_possible() -> bool:
    """Would a data change in `alone` now go as its own transaction (the
    session's connection is PostgreSQL's, with no transaction open)?"""
    from grievance.extensions import db

    raw = db.session.connection().connection.dbapi_connection
    return isinstance(raw, KeepingConnection) and _may_go_alone(raw)


@contextmanager
def alone(dbapi_connection: Any = None) -> Iterator[None]:
    """Each data change in the block that finds no transaction open runs as
    its own transaction (see the module's note). For a caller whose unit of
    work is that one statement, and who commits right after: nothing else
    it wrote could be committed with it. Elsewhere than on PostgreSQL, and
    for reads, nothing changes.

    On the session's connection unless a driver connection is given."""
    raw = dbapi_connection
    if raw is None:
        from grievance.extensions import db

        # What the session holds goes first, the usual way: it opens the
        # transaction that the block's statements then join.
        db.session.flush()
        raw = db.session.connection().connection.dbapi_connection
    if not isinstance(raw, KeepingConnection):
        yield
        return
    raw._writes_alone = True
    try:
        yield
    finally:
        raw._writes_alone = False


def init_app(app: Any) -> None:
    """Open the app's PostgreSQL connections as KeepingConnection."""
    from sqlalchemy import event

    from grievance.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        return KeepingConnection.open(*cargs, **cparams)

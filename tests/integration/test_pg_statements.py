"""PostgreSQL connections keep their prepared statements across requests
that only read, and roll back for real whatever else they did
(grievance.pg_statements)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError

from grievance.extensions import db
from grievance.pg_statements import KeepingConnection, alone


@pytest.fixture
def conn(app: Flask) -> Iterator[Connection]:
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE scratch (x integer)"))
        connection.commit()
        yield connection


def _prepared(connection: Connection, statement: str) -> int:
    return int(
        connection.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement = :s"),
            {"s": statement},
        ).scalar_one()
    )


def _raw(connection: Connection) -> KeepingConnection:
    raw = connection.connection.dbapi_connection
    assert isinstance(raw, KeepingConnection)
    return raw


def test_statements_of_read_only_requests_stay_prepared(app: Flask, client: FlaskClient) -> None:
    # psycopg prepares a statement at its sixth run on one connection; each
    # request ends its transaction, which used to forget every statement.
    for _ in range(8):
        assert client.get("/healthz").status_code == 200
    with app.app_context():
        assert _prepared(db.session.connection(), "SELECT 1") == 1


def test_reads_rolled_back_keep_the_statement_and_end_the_transaction(
    conn: Connection,
) -> None:
    for _ in range(7):
        assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0
        conn.rollback()
        assert _raw(conn).info.transaction_status == TransactionStatus.IDLE
    assert _prepared(conn, "SELECT count(*) FROM scratch") == 1


def test_a_write_after_reads_is_rolled_back(conn: Connection) -> None:
    conn.execute(text("SELECT count(*) FROM scratch"))
    conn.execute(text("INSERT INTO scratch VALUES (1)"))
    conn.rollback()
    assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0


def test_a_select_into_counts_as_a_write(conn: Connection) -> None:
    conn.execute(text("SELECT 1 AS x INTO TEMP made_by_select"))
    conn.rollback()
    with pytest.raises(ProgrammingError):
        conn.execute(text("SELECT * FROM made_by_select"))
    conn.rollback()


def test_a_failed_transaction_is_rolled_back_and_the_connection_works(
    conn: Connection,
) -> None:
    with pytest.raises(DataError):
        conn.execute(text("SELECT 1 / 0"))
    conn.rollback()
    assert _raw(conn).info.transaction_status == TransactionStatus.IDLE
    assert conn.execute(text("SELECT 2")).scalar_one() == 2


def test_a_committed_write_stays(conn: Connection) -> None:
    conn.execute(text("INSERT INTO scratch VALUES (1)"))
    conn.commit()
    conn.execute(text("SELECT count(*) FROM scratch"))
    conn.rollback()  # only read since the commit
    assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 1


def test_a_read_opens_no_transaction(conn: Connection) -> None:
    # No BEGIN was sent: psycopg leaves a transaction open after any
    # statement it sent inside one.
    assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0
    assert _raw(conn).info.transaction_status == TransactionStatus.IDLE
    conn.execute(text("INSERT INTO scratch VALUES (1)"))
    assert _raw(conn).info.transaction_status == TransactionStatus.INTRANS
    # Inside the transaction a read stays in it and sees its write.
    assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 1
    conn.rollback()
    assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0


def test_a_read_that_locks_rows_holds_them_until_the_end(app: Flask, conn: Connection) -> None:
    conn.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (x integer)"))
    conn.execute(text("DELETE FROM lock_probe"))
    conn.execute(text("INSERT INTO lock_probe VALUES (1)"))
    conn.commit()
    try:
        conn.execute(text("SELECT x FROM lock_probe FOR UPDATE")).all()
        assert _raw(conn).info.transaction_status == TransactionStatus.INTRANS
        with db.engine.connect() as other:
            with pytest.raises(OperationalError):
                other.execute(text("SELECT x FROM lock_probe FOR UPDATE NOWAIT")).all()
            other.rollback()
        conn.rollback()
    finally:
        conn.execute(text("DROP TABLE lock_probe"))
        conn.commit()


def test_a_stricter_isolation_level_keeps_reads_in_one_transaction(conn: Connection) -> None:
    conn.commit()
    repeatable = conn.execution_options(isolation_level="REPEATABLE READ")
    repeatable.execute(text("SELECT count(*) FROM scratch"))
    assert _raw(conn).info.transaction_status == TransactionStatus.INTRANS
    repeatable.rollback()


@pytest.fixture
def probe(app: Flask) -> Iterator[None]:
    """A table of the session's own database, seen from other connections."""
    with app.app_context():
        with db.engine.begin() as setup:
            setup.execute(text("CREATE TABLE IF NOT EXISTS alone_probe (x integer UNIQUE)"))
            setup.execute(text("DELETE FROM alone_probe"))
        try:
            yield
        finally:
            db.session.rollback()
            with db.engine.begin() as teardown:
                teardown.execute(text("DROP TABLE alone_probe"))


def _seen_elsewhere() -> int:
    with db.engine.connect() as other:
        return int(other.execute(text("SELECT count(*) FROM alone_probe")).scalar_one())


def test_a_write_alone_is_its_own_transaction(app: Flask, probe: None) -> None:
    with app.app_context():
        with alone():
            db.session.execute(text("INSERT INTO alone_probe VALUES (1)"))
        raw = _raw(db.session.connection())
        # No BEGIN was sent, so nothing is open, and the row is committed:
        # another connection sees it before the session commits.
        assert raw.info.transaction_status == TransactionStatus.IDLE
        assert _seen_elsewhere() == 1
        db.session.commit()
        assert _seen_elsewhere() == 1


def test_a_write_alone_joins_a_transaction_already_open(app: Flask, probe: None) -> None:
    with app.app_context():
        db.session.execute(text("INSERT INTO alone_probe VALUES (1)"))
        with alone():
            db.session.execute(text("INSERT INTO alone_probe VALUES (2)"))
        assert _raw(db.session.connection()).info.transaction_status == TransactionStatus.INTRANS
        assert _seen_elsewhere() == 0
        db.session.rollback()  # both go: they were one unit of work
        assert _seen_elsewhere() == 0


def test_a_failed_write_alone_leaves_nothing_and_the_session_goes_on(
    app: Flask, probe: None
) -> None:
    with app.app_context():
        with alone():
            db.session.execute(text("INSERT INTO alone_probe VALUES (1)"))
        with pytest.raises(IntegrityError), alone():
            db.session.execute(text("INSERT INTO alone_probe VALUES (1)"))
        db.session.rollback()
        assert _raw(db.session.connection()).info.transaction_status == TransactionStatus.IDLE
        db.session.execute(text("INSERT INTO alone_probe VALUES (2)"))
        db.session.commit()
        assert _seen_elsewhere() == 2


def test_outside_the_block_a_write_waits_for_the_commit(app: Flask, probe: None) -> None:
    with app.app_context():
        with alone():
            pass
        db.session.execute(text("INSERT INTO alone_probe VALUES (1)"))
        assert _seen_elsewhere() == 0
        db.session.rollback()
        assert _seen_elsewhere() == 0

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
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError

from grievance.extensions import db
from grievance.pg_statements import KeepingConnection


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

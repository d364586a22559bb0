"""A unit of work of a few statements built once, run on the database
driver's connection: neither the ORM session nor SQLAlchemy's per-statement
execution when the request has no use for them.

A report without kept files and a signed webhook each write a statement or
two of plain columns (`grievance.intake.held`, `grievance.intake.gateway`)
and nothing else. Through the request's ORM session they paid for building
the session, beginning its transaction with its bookkeeping, committing and
closing it; through a Core connection, for each statement, SQLAlchemy's
cache look-up, its execution context and its result object. Callgrind, one
process on SQLite: without the session a report took 6.06M -> 5.73M
instructions and a webhook 3.54M -> 3.31M; then without Core's execution
a report 5.03M -> 4.80M, a first message from a number 2.86M -> 2.43M and
a message from a known one 2.36M -> 2.12M.

`unit()` takes a connection from the engine's pool instead, and `Unit` runs
each statement on the driver's connection (`grievance.driver`). The unit
commits when the block ends, then runs what waited for that commit
(`after_commit` callbacks registered inside the block); it rolls back if
the block raises.

A request that has used its session already (the form deleted files kept
for it, say) runs the block on the session's connection: its statements
join the session's transaction and commit with what it wrote before, as one
unit. Either way, on PostgreSQL a data change that finds no transaction
open goes as its own transaction (`pg_statements.alone`): one round trip,
durable when it answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Dialect, Executable

from grievance import driver, pg_statements
from grievance.extensions import commit, db, own_commit_callbacks


class Unit:
    """Runs statements built once on the unit's driver connection; values
    are bound by name (`bindparam`, `extensions.bound`). Results come as the
    driver gives them: for plain columns (ids, text, bytes), not for types
    SQLAlchemy converts on the way out (dates on SQLite)."""

    def __init__(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self._connection = dbapi_connection
        self._dialect = dialect

    @property
    def dialect_name(self) -> str:
        return str(self._dialect.name)

    def execute(self, statement: Executable, values: Mapping[str, Any]) -> Any:
        """The driver's cursor, after running `statement`."""
        return driver.run(self._connection, self._dialect, statement, values)

    def scalar(self, statement: Executable, values: Mapping[str, Any]) -> Any:
        """The first column of the first row; None without a row."""
        row = self.execute(statement, values).fetchone()
        return None if row is None else row[0]

    def rows(self, statement: Executable, values: Mapping[str, Any]) -> list[Any]:
        return list(self.execute(statement, values).fetchall())

    def rowcount(self, statement: Executable, values: Mapping[str, Any]) -> int:
        return int(self.execute(statement, values).rowcount)


@contextmanager
def unit() -> Iterator[Unit]:
    """The block's statements as one unit of work, committed when it ends
    (nothing is committed if it raises)."""
    if db.session.registry.has():
        with pg_statements.alone():
            connection = db.session.connection()
            yield Unit(connection.connection.dbapi_connection, connection.dialect)
        commit()
        return
    dialect = db.engine.dialect
    pooled = db.engine.raw_connection()
    try:
        with own_commit_callbacks() as waiting:
            with pg_statements.alone(pooled.dbapi_connection):
                yield Unit(pooled.dbapi_connection, dialect)
            try:
                pooled.commit()
            except dialect.loaded_dbapi.Error as error:
                raise driver.as_sqlalchemy_error(dialect, "COMMIT", error) from error
    except BaseException:
        try:
            pooled.rollback()
        except Exception:  # noqa: BLE001 - the error above is the one to raise
            # A connection that cannot roll back (lost): never back to the pool.
            pooled.invalidate()
        raise
    finally:
        pooled.close()
    # The connection is back in the pool first.
    for callback in waiting:
        callback()

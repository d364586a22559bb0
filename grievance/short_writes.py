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
each statement as SQLAlchemy compiled it for the database, once, with the
values converted by the columns' own types as SQLAlchemy would (a sealed
column refuses clear text, SQLite's dates keep their form); a driver's error
is raised as SQLAlchemy's (`IntegrityError` for a duplicate). The unit
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

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Executable, exc
from sqlalchemy.sql.compiler import Compiled

from grievance import pg_statements
from grievance.extensions import commit, db, own_commit_callbacks


@dataclass(frozen=True)
class _Compiled:
    statement: Executable  # kept: its id is the cache's key
    compiled: Compiled
    processors: dict[str, Callable[[Any], Any]]


# Statements are built once (module level or functools.cache), so this
# holds a handful; the bound is only a guard against a caller that builds
# one for each call.
_COMPILED: dict[tuple[int, str], _Compiled] = {}
_MOST = 256


def _compiled(statement: Executable, dialect: Dialect) -> _Compiled:
    key = (id(statement), dialect.name)
    found = _COMPILED.get(key)
    if found is not None:
        return found
    compiled = statement.compile(dialect=dialect)
    processors = {}
    for name, bind in compiled.binds.items():
        # The type as the dialect implements it: its conversion is the one
        # SQLAlchemy's own execution applies.
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    if len(_COMPILED) >= _MOST:
        _COMPILED.clear()
    found = _COMPILED[key] = _Compiled(statement, compiled, processors)
    return found


def _as_sqlalchemy_raises(dialect: Dialect, statement: str, error: Exception) -> Exception:
    """A driver's error as SQLAlchemy's own execution raises it
    (IntegrityError, OperationalError...), without the values (sealed data)."""
    dbapi_error = dialect.loaded_dbapi.Error
    return exc.DBAPIError.instance(  # type: ignore[return-value]
        statement, None, error, dbapi_error, hide_parameters=True, dialect=dialect
    )


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
        found = _compiled(statement, self._dialect)
        compiled = found.compiled
        params = compiled.construct_params(values)
        for name, process in found.processors.items():
            if name in params:
                params[name] = process(params[name])
        order = compiled.positiontup
        bound: Any = [params[name] for name in order] if order is not None else params
        cursor = self._connection.cursor()
        try:
            cursor.execute(compiled.string, bound)
        except self._dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy_raises(self._dialect, compiled.string, error) from error
        return cursor

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
                raise _as_sqlalchemy_raises(dialect, "COMMIT", error) from error
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

"""Hot statements run on the database driver's connection, compiled once.

SQLAlchemy's execution of a statement (its cache look-up, execution
context, result metadata and row objects) costs tens of microseconds a
statement whatever the statement does; on PostgreSQL its result metadata
also has psycopg describe every column. The statements every report,
webhook and queue page runs go here instead: a webhook's first message
from a number 2.86M -> 2.43M instructions (callgrind, SQLite), a queue
page 3.76 -> 3.51 ms in one process on PostgreSQL (the queue's two reads).

`run` sends a statement built once as SQLAlchemy compiled it for the
database, once per statement and database, with the values converted by
the columns' own types as SQLAlchemy's execution would (a sealed column
refuses clear text, SQLite's dates keep their form); a driver's error is
raised as SQLAlchemy's (an `IntegrityError` for a duplicate). `session_rows`
reads plain tuples on the request session's connection, in its
transaction, each value converted on the way out by its column's type as
SQLAlchemy's rows would be (SQLite's dates become datetimes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Dialect, Executable, exc
from sqlalchemy.sql.compiler import Compiled


@dataclass
class _Compiled:
    statement: Executable  # kept: its id is the cache's key
    compiled: Compiled
    sql: str
    # The parameters' names in their order, for a positional paramstyle
    # (SQLite's); None for a named one (psycopg's).
    order: list[str] | None
    processors: dict[str, Callable[[Any], Any]]
    # The values fixed in the statement itself (a literal compared with).
    fixed: dict[str, Any]
    # Per selected column, its conversion on the way out (None: as given);
    # worked out the first time rows are read.
    results: list[Callable[[Any], Any] | None] | None = field(default=None)


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
    sql = compiled.string
    # Values SQLAlchemy writes into the SQL as it runs it (group_concat's
    # separator, say): written in once here, as SQLAlchemy would write
    # them; a list bound when the statement runs cannot be.
    late = compiled.literal_execute_params | compiled.post_compile_params
    for bind in late:
        if bind.expanding or bind.required or bind.callable is not None:
            raise ValueError("a statement with values expanded as it runs")
        literal = bind.type.dialect_impl(dialect).literal_processor(dialect)
        value = bind.effective_value
        text = literal(value) if literal is not None else str(value)
        sql = sql.replace(f"__[POSTCOMPILE_{compiled.bind_names[bind]}]", text)
    late_names = {compiled.bind_names[bind] for bind in late}
    positions = compiled.positiontup
    order = None if positions is None else [n for n in positions if n not in late_names]
    processors = {}
    fixed = {}
    for name, bind in compiled.binds.items():
        if name in late_names:
            continue
        # The type as the dialect implements it: its conversion is the one
        # SQLAlchemy's own execution applies.
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
        if not bind.required:
            fixed[name] = bind.effective_value
    if len(_COMPILED) >= _MOST:
        _COMPILED.clear()
    found = _COMPILED[key] = _Compiled(statement, compiled, sql, order, processors, fixed)
    return found


def as_sqlalchemy_error(dialect: Dialect, statement: str, error: Exception) -> Exception:
    """A driver's error as SQLAlchemy's own execution raises it
    (IntegrityError, OperationalError...), without the values (sealed data)."""
    dbapi_error = dialect.loaded_dbapi.Error
    return exc.DBAPIError.instance(  # type: ignore[return-value]
        statement, None, error, dbapi_error, hide_parameters=True, dialect=dialect
    )


def run(
    dbapi_connection: Any, dialect: Dialect, statement: Executable, values: Mapping[str, Any]
) -> Any:
    """The driver's cursor, after running `statement` with `values` (bound
    by name: `bindparam`, `extensions.bound`)."""
    return _execute(_compiled(statement, dialect), dbapi_connection, dialect, values)


def _execute(
    found: _Compiled, dbapi_connection: Any, dialect: Dialect, values: Mapping[str, Any]
) -> Any:
    params = {**found.fixed, **values}
    for name, process in found.processors.items():
        if name in params:
            params[name] = process(params[name])
    bound: Any = params if found.order is None else [params[name] for name in found.order]
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(found.sql, bound)
    except dialect.loaded_dbapi.Error as error:
        raise as_sqlalchemy_error(dialect, found.sql, error) from error
    return cursor


def _result_processors(found: _Compiled, dialect: Dialect) -> list[Callable[[Any], Any] | None]:
    if found.results is None:
        columns = found.compiled.statement.selected_columns  # type: ignore[attr-defined]
        found.results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
    return found.results


def session_rows(statement: Executable, values: Mapping[str, Any] | None = None) -> list[tuple]:
    """The rows of a SELECT of plain columns as tuples, read on the request
    session's connection, in its transaction (pending changes flushed first,
    as the session's autoflush would)."""
    from grievance.extensions import db

    db.session.flush()
    connection = db.session.connection()
    dialect = connection.dialect
    found = _compiled(statement, dialect)
    cursor = _execute(found, connection.connection.dbapi_connection, dialect, values or {})
    rows = cursor.fetchall()
    processors = _result_processors(found, dialect)
    if not any(processors):
        return [tuple(row) for row in rows]
    return [
        tuple(
            value if process is None else process(value)
            for value, process in zip(row, processors, strict=True)
        )
        for row in rows
    ]

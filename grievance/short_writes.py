"""A unit of work of a few Core statements, without the ORM session when
the request has not used it.

A report without kept files and a signed webhook each write a statement or
two of plain columns (`grievance.intake.held`, `grievance.intake.gateway`)
and nothing else. Yet going through the request's ORM session builds the
session, begins its transaction with its bookkeeping, and commits and
closes it: about 5 % of a report's instructions (callgrind, one process),
for nothing the statements need.

`unit()` gives them a connection from the engine's pool instead, commits
it when the block ends, then runs what waited for that commit (`after_commit`
callbacks registered inside the block). A request that has used its session
already (the form deleted files kept for it, say) gets the session's
connection: the block's statements join its transaction and commit with
what it wrote before, as one unit.

Either way, on PostgreSQL a data change that finds no transaction open goes
as its own transaction (`pg_statements.alone`): one round trip, durable
when it answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from grievance import pg_statements
from grievance.extensions import commit, db, own_commit_callbacks


@contextmanager
def unit() -> Iterator[Connection]:
    """A connection for the block's statements, committed when it ends
    (nothing is committed if it raises)."""
    if db.session.registry.has():
        with pg_statements.alone():
            yield db.session.connection()
        commit()
        return
    with own_commit_callbacks() as waiting, db.engine.connect() as connection:
        with pg_statements.alone(connection):
            yield connection
        connection.commit()
    # Outside the `with`: the connection is back in the pool first.
    for callback in waiting:
        callback()

"""Pooled connections are checked before use only after they sat idle.

SQLAlchemy's `pool_pre_ping` sends a ping on every checkout, that is once a
request: on PostgreSQL one more round trip for every page, about 8 % of a
signed webhook's time (measured in-process, a million cases). A connection
handed back a moment ago was working a moment ago; the ping is worth its
cost only for one that sat idle, where the server may have closed it
(a restart, a failover, an idle timeout on the way).

So a connection idle for more than IDLE_BEFORE_PING seconds is pinged as
before, and replaced if the ping fails (the pool tries a fresh one, as
with `pool_pre_ping`). Under load connections come back within
milliseconds and go out again unpinged. A server that restarts while a
connection is out, or within that second, fails the statement that meets
it, as it would have without any ping: SQLAlchemy then drops every
connection opened before the failure.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_BEFORE_PING = 1.0  # seconds
_RETURNED = "grievance.returned_at"


def init_app(app: Any) -> None:
    """Ping the app's pooled connections on checkout only after they sat idle."""
    from grievance.extensions import db

    with app.app_context():
        watch(db.engine)


def watch(engine: Engine) -> None:
    """Ping `engine`'s connections on checkout only after they sat idle."""

    @event.listens_for(engine, "connect")
    def _opened(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED, 0.0) <= IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # Whatever the failure: the pool closes this one and tries a fresh one.
            raise DisconnectionError("idle connection closed by the server") from exc

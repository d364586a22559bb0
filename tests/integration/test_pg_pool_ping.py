"""PostgreSQL: a pooled connection the server closed while it sat idle is
replaced before a request uses it (grievance.pool_ping); one back a moment
ago goes out without a ping."""

from __future__ import annotations

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from grievance import pool_ping
from grievance.extensions import db
from tests.integration.conftest import PG_URL


def _backend_pid(app: Flask) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
        assert row is not None and row[0], "the backend was not terminated"


def test_a_connection_closed_by_the_server_while_idle_is_replaced(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _backend_pid(app)
    _terminate(old)  # as a restart or an idle timeout on the server would
    monkeypatch.setattr(pool_ping, "IDLE_BEFORE_PING", 0.0)  # it has sat idle long enough
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] is True
    assert _backend_pid(app) != old


def test_a_connection_back_a_moment_ago_is_not_pinged(app: Flask) -> None:
    with app.app_context():
        pings: list[object] = []
        real = db.engine.dialect.do_ping

        def counting(dbapi_connection: object) -> bool:
            pings.append(dbapi_connection)
            return real(dbapi_connection)

        db.engine.dialect.do_ping = counting  # type: ignore[method-assign]
        try:
            for _ in range(5):
                with db.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
        finally:
            del db.engine.dialect.do_ping
    assert pings == []

"""Pooled connections are pinged on checkout only after they sat idle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from grievance import pool_ping


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    pool_ping.watch(engine)
    return engine


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connections the dialect was asked to ping, in order."""
    seen: list[Any] = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        seen.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return seen


def _select_one(engine: Engine) -> Any:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        return conn.connection.dbapi_connection


def test_a_connection_back_a_moment_ago_goes_out_unpinged(engine: Engine, pings: list[Any]) -> None:
    first = _select_one(engine)
    again = _select_one(engine)
    assert again is first  # the pool's own connection, reused
    assert pings == []


def test_a_connection_that_sat_idle_is_pinged(
    engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _select_one(engine)
    monkeypatch.setattr(pool_ping, "IDLE_BEFORE_PING", -1.0)  # every pause counts as long
    assert _select_one(engine) is first
    assert pings == [first]


def test_an_idle_connection_that_fails_its_ping_is_replaced(
    engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _select_one(engine)
    # As a server restart leaves it: the connection no longer works.
    first.close()
    monkeypatch.setattr(pool_ping, "IDLE_BEFORE_PING", -1.0)
    fresh = _select_one(engine)
    assert fresh is not first
    assert pings[0] is first

"""The integration suite: the real PostgreSQL and Redis servers.

TEST_DATABASE_URL and TEST_REDIS_URL name them (defaults: this machine's
local servers). Each test starts from empty tables and an empty Redis
database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis import Redis

from grievance import pg_statements

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"SQLALCHEMY_DATABASE_URI": PG_URL, "SQLALCHEMY_ENGINE_OPTIONS": {}}


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    conn = Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@contextmanager
def driver_statements() -> Iterator[list[str]]:
    """The statements PostgreSQL is sent while the block runs, as the driver
    sends them: through SQLAlchemy's execution or a short unit of work
    (grievance.short_writes) alike. The pool's pings are left out."""
    sent: list[str] = []
    original = pg_statements._TrackingCursor.execute

    def execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if isinstance(query, str) and query.strip() != ";":
            sent.append(query)
        return original(self, query, params, **kwargs)

    pg_statements._TrackingCursor.execute = execute  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        pg_statements._TrackingCursor.execute = original  # type: ignore[method-assign]

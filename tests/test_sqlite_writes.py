"""Writers on one SQLite file queue on a file lock and wake when it is free."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from grievance.sqlite_writes import connection_factory


def _connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path),
        timeout=timeout,
        factory=connection_factory(str(path)),
        check_same_thread=False,
    )
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    conn = _connect(path)
    conn.execute("CREATE TABLE t (n INTEGER)")
    conn.commit()
    conn.close()
    return path


def test_a_waiting_writer_starts_as_soon_as_the_first_commits(database: Path) -> None:
    first, second = _connect(database), _connect(database)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    assert first.in_transaction
    started = threading.Event()
    done: dict[str, float] = {}

    def write() -> None:
        started.set()
        second.cursor().execute("INSERT INTO t VALUES (2)")
        done["at"] = time.monotonic()
        second.commit()

    thread = threading.Thread(target=write)
    thread.start()
    started.wait()
    time.sleep(0.25)
    assert "at" not in done  # still queued behind the open transaction
    committed = time.monotonic()
    first.commit()
    thread.join(5)
    # SQLite's own busy handler would have slept in 25-100 ms steps by now.
    assert done["at"] - committed < 0.02
    assert sorted(r[0] for r in first.execute("SELECT n FROM t")) == [1, 2]


def test_reads_do_not_wait_for_a_writer(database: Path) -> None:
    writer, reader = _connect(database), _connect(database)
    writer.cursor().execute("INSERT INTO t VALUES (1)")
    before = time.monotonic()
    assert reader.cursor().execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert time.monotonic() - before < 0.1
    writer.rollback()


def test_rollback_and_autocommitted_statements_release_the_lock(database: Path) -> None:
    first, second = _connect(database), _connect(database, timeout=0.2)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    first.rollback()
    first.cursor().execute("CREATE TABLE u (n INTEGER)")  # DDL: no transaction stays open
    before = time.monotonic()
    second.cursor().execute("INSERT INTO t VALUES (2)")
    second.commit()
    assert time.monotonic() - before < 0.1


def test_a_thread_never_waits_on_its_own_lock(database: Path) -> None:
    outer, inner = _connect(database), _connect(database, timeout=0.1)
    outer.cursor().execute("INSERT INTO t VALUES (1)")
    # The same thread's second connection falls back to SQLite's busy
    # timeout: an error after 0.1 s, not a hang.
    with pytest.raises(sqlite3.OperationalError):
        inner.cursor().execute("INSERT INTO t VALUES (2)")
    outer.commit()
    inner.rollback()
    inner.cursor().execute("INSERT INTO t VALUES (3)")
    inner.commit()


def test_the_embedded_database_uses_the_lock(tmp_path: Path) -> None:
    from grievance import create_app
    from grievance.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite3'}")
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            assert isinstance(raw.dbapi_connection, sqlite3.Connection)
            assert raw.dbapi_connection.lock_path.endswith("app.sqlite3.writelock")  # type: ignore[union-attr]
        finally:
            raw.close()
        db.engine.dispose()


def test_an_on_disk_database_is_read_through_a_memory_map(tmp_path: Path) -> None:
    from grievance import SQLITE_MMAP_SIZE, create_app
    from grievance.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite3'}")
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA mmap_size")
            # SQLite reports what it will map: the setting, or its build's cap.
            assert 0 < cursor.fetchone()[0] <= SQLITE_MMAP_SIZE
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
        finally:
            raw.close()
        db.engine.dispose()

"""Key rotation under load on PostgreSQL: 10,000 cases, the real
`flask grievance rotate-keys` process killed halfway, resumed, the old key
retired, and every case readable under the new key only.

The interruption is made exact, not timed: the test holds a row lock on
the data key in the middle of the rotation's order, so the command commits
every batch before it and then waits; the test kills it there (SIGKILL, as
an operator's `kill -9` or a lost machine would), and the batch in flight
rolls back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select

from config import TestingConfig
from grievance import create_app, crypto
from grievance.cases.models import Case
from grievance.datakeys import DataKey
from grievance.extensions import db
from tests.conftest import make_case
from tests.integration.conftest import PG_URL
from tests.test_keyrotation_scale import CASES, read_all, seed_sealed_cases

ROOT = Path(__file__).resolve().parents[2]
BATCH = 500


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    crypto.KeyRing.generate().save(path)
    return path


@pytest.fixture
def app_overrides(keys_file: Path) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "GRIEVANCE_KEYS_FILE": str(keys_file),
    }


def flask_command(tmp_path: Path, keys_file: Path, *args: str) -> subprocess.Popen[str]:
    """`flask --app wsgi grievance ...` as its own process, as an operator runs it."""
    env = {
        **os.environ,
        "GRIEVANCE_ENV": "development",
        "DATABASE_URL": PG_URL,
        "GRIEVANCE_KEYS_FILE": str(keys_file),
        "GRIEVANCE_INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "rotation-test-secret",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "grievance", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def libpq_url() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def lock_conn() -> Iterator[psycopg.Connection[Any]]:
    conn = psycopg.connect(libpq_url())
    yield conn
    conn.close()


def count_by_kek() -> dict[str, int]:
    db.session.rollback()  # a fresh snapshot: read what the other process committed
    rows = db.session.execute(select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id))
    return {kek: int(n) for kek, n in rows}


def test_rotation_killed_halfway_resumes_and_retires(
    app: Flask, tmp_path: Path, keys_file: Path, lock_conn: psycopg.Connection[Any]
) -> None:
    with app.app_context():
        seed_sealed_cases(CASES)
        ids = list(db.session.scalars(select(DataKey.id).order_by(DataKey.id)))
    assert len(ids) == CASES
    middle = ids[CASES // 2]  # first row of batch 11: 10 batches commit before it
    with lock_conn.cursor() as cur:
        cur.execute("SELECT id FROM data_keys WHERE id = %s FOR UPDATE", (middle,))

    rotation = flask_command(tmp_path, keys_file, "rotate-keys", "--batch-size", str(BATCH))
    try:
        with app.app_context():
            deadline = time.monotonic() + 300
            counts = count_by_kek()
            while counts.get("k2", 0) < CASES // 2 and time.monotonic() < deadline:
                assert rotation.poll() is None, rotation.stdout.read() if rotation.stdout else ""
                time.sleep(0.2)
                counts = count_by_kek()
            assert counts == {"k1": CASES // 2, "k2": CASES // 2}
            # The rotation reaches our lock a moment after its tenth commit.
            waiting = None
            lock_deadline = time.monotonic() + 30
            with lock_conn.cursor() as cur:
                while waiting != (1,) and time.monotonic() < lock_deadline:
                    # Statistics views are read once per transaction unless
                    # the snapshot is cleared, and ours holds the lock.
                    cur.execute("SELECT pg_stat_clear_snapshot()")
                    cur.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    )
                    waiting = cur.fetchone()
                    if waiting != (1,):
                        time.sleep(0.1)
            assert waiting == (1,)  # the rotation, waiting on our lock

            # Under load, half rotated: the running service reads cases under
            # either key and seals a new case under the new one.
            db.session.expunge_all()
            assert read_all() == CASES
            case, _ = make_case(narrative="opened during the rotation")
            assert case.data_key is not None and case.data_key.kek_id == "k2"
            late_id = case.id
    finally:
        rotation.kill()  # SIGKILL: no cleanup, no last commit
        rotation.wait(timeout=60)
    with lock_conn.cursor() as cur:
        # The killed client's server process still waits on the lock; end it
        # as PostgreSQL would once it noticed the client gone.
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
    lock_conn.rollback()

    with app.app_context():
        # The batch in flight rolled back: exactly the committed half moved.
        assert count_by_kek() == {"k1": CASES // 2, "k2": CASES // 2 + 1}

    resumed = flask_command(tmp_path, keys_file, "rotate-keys", "--resume", "--batch-size", "700")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert f"re-wrapped: {CASES // 2}" in out and "every data key is under k2" in out

    retired = flask_command(tmp_path, keys_file, "rotate-keys", "--retire", "k1")
    out, _ = retired.communicate(timeout=600)
    assert retired.returncode == 0, out
    assert f"verified: {CASES + 1} data keys unwrap without k1" in out
    assert set(json.loads(keys_file.read_text())["keks"]) == {"k2"}

    # A fresh process that holds only the new key reads every case.
    fresh = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=PG_URL,
        SQLALCHEMY_ENGINE_OPTIONS={},
        GRIEVANCE_KEYS_FILE=str(keys_file),
    )
    with fresh.app_context():
        assert set(crypto.current_ring().keks) == {"k2"}
        assert count_by_kek() == {"k2": CASES + 1}
        assert read_all() == CASES
        late = db.session.get(Case, late_id)
        assert late is not None and late.narrative == "opened during the rotation"
        db.session.remove()
        db.engine.dispose()

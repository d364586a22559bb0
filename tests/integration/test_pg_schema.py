"""Migrations on an empty PostgreSQL database; no clear text in a pg_dump."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from grievance import create_app
from grievance.extensions import db
from grievance.seed.demo import DEMO_CASES
from tests.conftest import make_case
from tests.integration.conftest import PG_URL
from tests.test_migrations import check_upgrade_matches_models


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"grievance_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_init_builds_the_schema_on_empty_postgresql(empty_database: str) -> None:
    check_upgrade_matches_models(empty_database)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    result = app.test_cli_runner().invoke(args=["grievance", "init"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def test_pg_dump_after_seed_holds_no_clear_text(empty_database: str) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["grievance", "init"]).exit_code == 0
    assert runner.invoke(args=["grievance", "seed-demo"]).exit_code == 0
    canaries = ["CANARY-STORY-pg-41c2", "Canary Employer PG", "+819088887777"]
    with app.app_context():
        make_case(
            narrative=canaries[0],
            intermediaries={"employer": canaries[1]},
            contact={"phone": canaries[2]},
        )
        db.engine.dispose()
    url = make_url(empty_database)
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    assert b"CREATE TABLE public.cases" in dump  # the dump really has the data
    needles = list(canaries)
    for row in DEMO_CASES:
        needles.append(row[7][:24])
        needles.extend(x for x in (row[8], row[9]) if x)
    for needle in needles:
        assert needle.encode() not in dump, needle

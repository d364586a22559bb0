"""CLI commands: init, seed-demo, verify-audit, rotate-keys."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from config import TestingConfig
from grievance import create_app, crypto
from grievance.cases import audit
from grievance.cases.models import Case, CaseEvent
from grievance.datakeys import DataKey
from grievance.extensions import commit, db
from grievance.seed.demo import DEMO_CASES
from tests.conftest import make_case


def test_seed_demo_is_idempotent(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    first = runner.invoke(args=["grievance", "seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["grievance", "seed-demo"])
    assert second.exit_code == 0
    assert "new demo cases: 0" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == len(DEMO_CASES)
        languages = set(db.session.scalars(select(Case.language)))
        urgencies = set(db.session.scalars(select(Case.urgency)))
        assert len(languages) >= 10 and urgencies == {"P0", "P1", "P2", "P3"}


def test_seed_demo_leaves_no_clear_text_in_the_database_file(tmp_path: Path) -> None:
    """Plant known strings, seed, and grep the raw bytes of the SQLite file."""
    db_file = tmp_path / "grievance.sqlite3"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_file}")
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["grievance", "seed-demo"]).exit_code == 0
    canaries = ["CANARY-STORY-7f3a", "Canary Employer KK", "+819099990000", "canary@example.net"]
    with app.app_context():
        make_case(
            narrative=canaries[0],
            intermediaries={"employer": canaries[1]},
            contact={"phone": canaries[2], "email": canaries[3]},
        )
        db.engine.dispose()
    # Fold the write-ahead log into the file so every byte is in one place.
    with sqlite3.connect(db_file) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("grievance.sqlite3*"))
    seeded = []
    for row in DEMO_CASES:
        seeded.append(row[7][:24])  # the narrative
        if row[8]:
            seeded.append(row[8])  # the employer
        if row[9]:
            seeded.append(row[9])  # the phone number
    for needle in canaries + seeded:
        assert needle.encode() not in raw, needle
    assert b"demo-password" not in raw


def test_verify_audit_detects_tampering(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for _ in range(3):
            make_case()
        assert audit.verify_chain().ok
    assert runner.invoke(args=["grievance", "verify-audit"]).exit_code == 0
    with app.app_context():
        event = db.session.scalars(select(CaseEvent).order_by(CaseEvent.seq)).all()[1]
        event.detail = {"channel": "sms", "urgency": "P3", "language": "vi"}
        commit()
        report = audit.verify_chain()
        assert not report.ok and report.first_bad_seq == 2
    result = runner.invoke(args=["grievance", "verify-audit"])
    assert result.exit_code == 1 and "broken at event 2" in result.output


def test_deleted_audit_event_is_detected(app: Flask) -> None:
    with app.app_context():
        for _ in range(3):
            make_case()
        db.session.execute(CaseEvent.__table__.delete().where(CaseEvent.seq == 2))
        commit()
        assert not audit.verify_chain().ok


@pytest.fixture
def keyed_app(tmp_path: Path) -> Flask:
    keys = tmp_path / "keys.json"
    crypto.KeyRing.generate().save(keys)
    app = create_app(TestingConfig, GRIEVANCE_KEYS_FILE=str(keys))
    with app.app_context():
        db.create_all()
        from grievance.seed.taxonomy import load_taxonomy

        load_taxonomy()
        commit()
    return app


def test_rotate_keys_rewraps_everything_and_resumes(keyed_app: Flask) -> None:
    app = keyed_app
    with app.app_context():
        stories = {}
        for n in range(25):
            case, _ = make_case(narrative=f"story {n}")
            stories[case.id] = f"story {n}"
    runner = app.test_cli_runner()
    # Interrupt a rotation after the first batch.
    from grievance import keyrotation

    with app.app_context():
        ring = crypto.current_ring()
        keyrotation.add_key(ring)

        def stop_after_first(_: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            keyrotation.rewrap_all(ring, batch_size=10, progress=stop_after_first)
        assert keyrotation.count_to_rewrap(ring) == 15
    result = runner.invoke(args=["grievance", "rotate-keys", "--resume", "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        ring = crypto.current_ring()
        kek_ids = set(db.session.scalars(select(DataKey.kek_id)))
        assert kek_ids == {ring.active}
        db.session.expunge_all()
        for case_id, story in stories.items():
            assert db.session.get(Case, case_id).narrative == story
    # The old key can now be retired, and everything still reads.
    result = runner.invoke(args=["grievance", "rotate-keys", "--retire", "k1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert "k1" not in crypto.current_ring().keks
        assert "k1" not in json.loads(Path(app.config["GRIEVANCE_KEYS_FILE"]).read_text())["keks"]
        db.session.expunge_all()
        assert db.session.get(Case, next(iter(stories))).narrative.startswith("story")


def test_rotate_keys_command_adds_a_key(keyed_app: Flask) -> None:
    with keyed_app.app_context():
        make_case()
    result = keyed_app.test_cli_runner().invoke(args=["grievance", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "new active key: k2" in result.output and "re-wrapped: 1" in result.output
    refused = keyed_app.test_cli_runner().invoke(
        args=["grievance", "rotate-keys", "--retire", "k2"]
    )
    assert refused.exit_code != 0

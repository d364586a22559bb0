"""Key rotation over 10,000 cases: interrupted halfway, resumed, the old key
retired, and every case readable under the new key only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from config import TestingConfig
from grievance import create_app, crypto, keyrotation
from grievance.cases.models import Case
from grievance.datakeys import DataKey
from grievance.extensions import commit, db
from grievance.seed.taxonomy import load_taxonomy
from tests.conftest import make_case

CASES = 10_000


def seed_sealed_cases(n: int, chunk: int = 1000) -> None:
    """`n` cases, each with its own data key and a sealed narrative."""
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
            case = Case(
                data_key=DataKey.create(),
                reference=f"K{i:07d}",
                secret_hash=b"\0" * 32,
                language="th",  # marks the seeded cases
                urgency="P3",
            )
            case.narrative = f"story {i}"
            rows.append(case)
        db.session.add_all(rows)
        commit()
        db.session.expunge_all()


def read_all(chunk: int = 1000) -> int:
    """Decrypt every seeded narrative; returns how many read back as written."""
    good = 0
    last = 0
    while True:
        rows = db.session.scalars(
            select(Case).where(Case.id > last, Case.language == "th").order_by(Case.id).limit(chunk)
        ).all()
        if not rows:
            return good
        for case in rows:
            assert case.narrative == f"story {int(case.reference[1:])}"
            good += 1
        last = rows[-1].id
        db.session.expunge_all()


@pytest.fixture
def keyed_app(tmp_path: Path) -> Iterator[Flask]:
    keys = tmp_path / "keys.json"
    crypto.KeyRing.generate().save(keys)
    app = create_app(
        TestingConfig,
        GRIEVANCE_KEYS_FILE=str(keys),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'g.sqlite3'}",
    )
    with app.app_context():
        db.create_all()
        load_taxonomy()
        commit()
        seed_sealed_cases(CASES)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_rotation_over_ten_thousand_cases_interrupted_and_resumed(
    keyed_app: Flask, tmp_path: Path
) -> None:
    app = keyed_app
    keys_file = Path(app.config["GRIEVANCE_KEYS_FILE"])
    with app.app_context():
        ring = crypto.current_ring()
        assert keyrotation.add_key(ring) == "k2"
        assert keyrotation.count_to_rewrap(ring) == CASES
        done: list[int] = []

        def interrupt_halfway(n: int) -> None:
            done.append(n)
            if sum(done) >= CASES // 2:
                raise KeyboardInterrupt  # as Ctrl+C, or a killed process

        with pytest.raises(KeyboardInterrupt):
            keyrotation.rewrap_all(ring, batch_size=500, progress=interrupt_halfway)
        assert keyrotation.count_to_rewrap(ring) == CASES // 2
        # Half-way through, the service keeps working: cases under either
        # key read, and a new case is sealed under the new key.
        db.session.expunge_all()
        kek_ids = dict(
            db.session.execute(select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id)).all()
        )
        assert kek_ids == {"k1": CASES // 2, "k2": CASES // 2}
        assert read_all() == CASES
        new_case, _ = make_case(narrative="opened during the rotation")
        assert new_case.data_key is not None and new_case.data_key.kek_id == "k2"
        # Retiring k1 now is refused: keys still depend on it.
        with pytest.raises(keyrotation.RotationError):
            keyrotation.retire(ring, "k1")

    runner = app.test_cli_runner()
    resumed = runner.invoke(args=["grievance", "rotate-keys", "--resume", "--batch-size", "700"])
    assert resumed.exit_code == 0, resumed.output
    assert f"re-wrapped: {CASES // 2}" in resumed.output
    retired = runner.invoke(args=["grievance", "rotate-keys", "--retire", "k1"])
    assert retired.exit_code == 0, retired.output
    assert f"verified: {CASES + 1} data keys unwrap without k1" in retired.output
    assert set(json.loads(keys_file.read_text())["keks"]) == {"k2"}

    # A fresh process that only ever had the new key reads every case.
    fresh = create_app(
        TestingConfig,
        GRIEVANCE_KEYS_FILE=str(keys_file),
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
    )
    with fresh.app_context():
        assert set(crypto.current_ring().keks) == {"k2"}
        assert set(db.session.scalars(select(DataKey.kek_id).distinct())) == {"k2"}
        assert read_all() == CASES
        # The case opened during the rotation: not one of the seeded ones
        # (its random reference may begin with K too).
        assert db.session.scalar(select(Case.narrative_ct).where(Case.language != "th")) is not None
        late = db.session.scalar(select(Case).where(Case.language != "th"))
        assert late is not None and late.narrative == "opened during the rotation"
        db.session.remove()
        db.engine.dispose()

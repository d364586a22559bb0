"""Migrations build the schema from nothing, and it matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from config import TestingConfig
from grievance import create_app
from grievance.extensions import db


def check_upgrade_matches_models(database_url: str) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], diff
        db.engine.dispose()


def test_upgrade_from_nothing_on_sqlite(tmp_path: Path) -> None:
    check_upgrade_matches_models(f"sqlite:///{tmp_path / 'm.db'}")


def test_init_command_creates_schema_and_reference_data(tmp_path: Path) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'i.db'}")
    result = app.test_cli_runner().invoke(args=["grievance", "init"])
    assert result.exit_code == 0, result.output
    # Running it again upgrades nothing and fails nothing.
    assert app.test_cli_runner().invoke(args=["grievance", "init"]).exit_code == 0
    from grievance.cases.models import Category

    with app.app_context():
        assert db.session.query(Category).count() == 24


def test_views_recorded_before_the_counter_are_counted_by_its_migration(tmp_path: Path) -> None:
    from grievance.cases import audit
    from grievance.cases.models import CaseViewCount
    from grievance.extensions import commit
    from tests.conftest import make_case

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'v.db'}")
    assert app.test_cli_runner().invoke(args=["grievance", "init"]).exit_code == 0
    with app.app_context():
        case, _ = make_case()
        other, _ = make_case()
        # Events alone, as views were recorded before revision 0013.
        for case_id in (case.id, case.id, case.id, other.id):
            audit.record("case.viewed", case_id=case_id, actor_id=None)
        audit.record("case.note_added", case_id=case.id, actor_id=None)
        commit()
        ids = (case.id, other.id)
        db.session.close()
        downgrade(revision="0012")
        upgrade()
        counts = dict(db.session.execute(select(CaseViewCount.case_id, CaseViewCount.views)).all())
        assert counts == {ids[0]: 3, ids[1]: 1}
        db.session.close()
        db.engine.dispose()

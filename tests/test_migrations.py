"""Migrations build the schema from nothing, and it matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

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

"""The grievance and consultation system for migrant workers in Japan."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask

from config import Config, config_for
from grievance.page_templates import CatalogFlask
from grievance.session_cookie import SessionCookie


def create_app(config: type[Config] | str | None = None, **overrides: object) -> Flask:
    """Build the application: config, extensions, blueprints, CLI, errors."""
    config_class = config if isinstance(config, type) else config_for(config)
    config_class.check()

    # Its templates are compiled once per language (grievance.page_templates).
    app = CatalogFlask(__name__, instance_path=str(_instance_dir()))
    app.session_interface = SessionCookie()
    app.config.from_object(config_class)
    app.config.update(overrides)
    _prepare_embedded(app)
    if app.config.get("PROXY_FIX_X_FOR"):
        # Behind the TLS proxy: the client address is the one it forwards
        # (used only, hashed, for rate limits).
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]

    from grievance import keys

    keys.init_app(app)

    from grievance.extensions import babel, csrf, db, login_manager, migrate
    from grievance.i18n import select_locale

    _sqlite_write_lock(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    # `current_user` reaches templates from templating.init_app instead.
    login_manager.init_app(app, add_context_processor=False)

    from grievance import (
        errors,
        health,
        models,  # noqa: F401  (register every table)
        pg_statements,
        pool_ping,
        security,
        templating,
    )
    from grievance.cases import views as cases_views
    from grievance.intake import views as intake_views
    from grievance.notify import dispatch
    from grievance.notify import views as notify_views
    from grievance.staff import auth as staff_auth
    from grievance.staff import views as staff_views

    db_sqlite_pragmas(app)
    pg_statements.init_app(app)
    pool_ping.init_app(app)
    dispatch.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    staff_auth.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(intake_views.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(cases_views.bp)
    app.register_blueprint(notify_views.bp)

    from grievance.reports import views as reports_views
    from grievance.staff import admin_views

    app.register_blueprint(reports_views.bp)
    app.register_blueprint(admin_views.bp)

    from grievance.intake import held, webhooks

    webhooks.init_app(app)
    held.init_app(app)

    from grievance.cases import advisor_views, partner_views, referral_views
    from grievance.intake import feedback_text

    feedback_text.init_app(app)
    app.register_blueprint(advisor_views.bp)
    app.register_blueprint(partner_views.bp)
    app.register_blueprint(referral_views.bp)

    from grievance import cli

    cli.init_app(app)
    _quiet_logs()
    return app


def _instance_dir() -> Path:
    from config import INSTANCE_DIR

    return INSTANCE_DIR


def _prepare_embedded(app: Flask) -> None:
    """Embedded default: make instance/ and a persistent SECRET_KEY on first run."""
    if not app.config.get("EMBEDDED") or app.config.get("TESTING"):
        return
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        from grievance.instance_files import write_once

        secret = write_once(instance / "secret_key", secrets.token_urlsafe(48))
        app.config["SECRET_KEY"] = secret.strip()


def _sqlite_write_lock(app: Flask) -> None:
    """SQLite on disk: connections queue their writes on a file lock."""
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    from grievance.sqlite_writes import connection_factory

    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("factory", connection_factory(url.database))
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


# SQLite's own ceiling for a memory map (SQLITE_MAX_MMAP_SIZE), just under 2 GiB.
SQLITE_MMAP_SIZE = 0x7FFF0000


def db_sqlite_pragmas(app: Flask) -> None:
    """SQLite: WAL so readers never block the writer, and enforced foreign keys."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from grievance.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return

    with app.app_context():
        engine: Engine = db.engine
    # Decided here, not read from `app` inside the listener: the engine lives
    # in a dictionary keyed weakly by the app, and a listener holding the app
    # would keep every app (and its database) alive for good.
    on_disk = app.config["SQLALCHEMY_DATABASE_URI"] not in ("sqlite://", "sqlite:///:memory:")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        if on_disk:
            cursor.execute("PRAGMA journal_mode=WAL")
            # Reads through a memory map instead of a copy into each
            # connection's own small page cache, which another process's
            # commit throws away (every case view commits its audit event).
            # With a million cases, two gunicorn workers served 7-15 % more
            # case pages and 20-30 % more queue pages a second (README,
            # Performance). The mapped pages are the operating system's
            # file cache, shared by all processes.
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_SIZE}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _quiet_logs() -> None:
    # Werkzeug's request log carries IP addresses and query strings.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

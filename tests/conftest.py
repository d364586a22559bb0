"""Fixtures: `app`, `client`, `runner`, `auth`, and plain factory functions.

Each test gets a fresh database: in-memory SQLite by default, or the
server named by TEST_DATABASE_URL (the integration suite), emptied after
each test.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

os.environ.setdefault("GRIEVANCE_ENV", "testing")

from config import TestingConfig
from grievance import create_app
from grievance.cases import services as case_services
from grievance.cases.models import Case
from grievance.extensions import commit, db
from grievance.seed.taxonomy import load_partners, load_taxonomy
from grievance.staff import services as staff_services
from grievance.staff.models import StaffUser

PASSWORD = "correct horse battery staple"


_fresh_schema: set[str] = set()


def _reset_database(app: Flask) -> None:
    with app.app_context():
        url = str(db.engine.url)
        if db.engine.dialect.name == "postgresql" and url not in _fresh_schema:
            # Once per run: the server keeps tables between runs, and the
            # models may have changed since.
            db.drop_all()
            db.create_all()
            _fresh_schema.add(url)
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()
        else:
            db.create_all()


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for its `app`."""
    return {}


@pytest.fixture
def app(app_overrides: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(TestingConfig, **app_overrides)
    _reset_database(app)
    with app.app_context():
        load_taxonomy()
        load_partners()
        commit()
    yield app
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name != "postgresql":
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    # Staff pages follow the browser's language (Japanese by default); tests
    # read them in English unless they ask for another language.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@contextmanager
def timed_without_collector() -> Iterator[None]:
    """Time a request, not the test process's garbage collector.

    A full collection walks every object the whole test run holds (modules,
    caches, hundreds of thousands of objects): on a slow machine that pause
    alone passes a second, wherever it happens to fall. Timing bounds are
    about the code under test, so the collector waits until the timed part
    is over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def csrf_from(html: bytes | str) -> str:
    text_ = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_) or re.search(
        r'name="csrf_token" value="([^"]+)"', text_
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_staff(
    role: str = "caseworker",
    email: str | None = None,
    partner_code: str | None = None,
    *,
    confirmed: bool = True,
) -> tuple[StaffUser, str]:
    """A staff account with PASSWORD; returns (user, TOTP secret)."""
    from grievance.cases.models import Partner

    partner_id = None
    if partner_code:
        partner_id = db.session.query(Partner.id).filter_by(code=partner_code).scalar()
    email = email or f"{role}{db.session.query(StaffUser).count() + 1}@example.org"
    account = staff_services.create_user(email, role, partner_id, password=PASSWORD)
    account.user.totp_confirmed = confirmed
    commit()
    return account.user, account.totp_secret


class QueuedRunner:
    """Jobs wait, as on RQ in production, until the test runs them."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[int, ...]]] = []

    def enqueue(self, job: str, *ids: int) -> None:
        self.jobs.append((job, ids))

    def wake(self, job: str) -> None:
        # As RQRunner's flag: one run waits, however many rows woke it.
        if (job, ()) not in self.jobs:
            self.jobs.append((job, ()))

    def woken(self, job: str) -> None:
        return None

    def run_all(self) -> list[str]:
        """Run the waiting jobs in order, and those they queue; their names."""
        from grievance.notify.dispatch import job_function

        ran = []
        while self.jobs:
            job, ids = self.jobs.pop(0)
            job_function(job)(*ids)
            ran.append(job)
        return ran


def make_case(**fields: Any) -> tuple[Case, case_services.Receipt]:
    data = case_services.NewCase(
        language=fields.pop("language", "vi"),
        # No red-flag words: a default case keeps the urgency it is given.
        narrative=fields.pop("narrative", "The company has not paid my overtime."),
        **fields,
    )
    case, receipt = case_services.open_case(data)
    commit()
    return case, receipt


class AuthActions:
    """Logs a staff member in through the real pages: password, then TOTP."""

    def __init__(self, client: FlaskClient, app: Flask) -> None:
        self.client = client
        self.app = app

    def password_step(self, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        page = self.client.get("/staff/login")
        return self.client.post(
            "/staff/login",
            data={"email": email, "password": password, "csrf_token": csrf_from(page.data)},
        )

    def code_step(self, code: str, path: str = "/staff/2fa"):  # type: ignore[no-untyped-def]
        page = self.client.get(path)
        return self.client.post(path, data={"code": code, "csrf_token": csrf_from(page.data)})

    def login(self, email: str, secret: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        # A fresh time step for each login in a test: the replay guard
        # would refuse a second login within the same 30 seconds.
        with self.app.app_context():
            user = staff_services.find_by_email(email)
            assert user is not None
            user.last_totp_step = 0
            commit()
        response = self.password_step(email, password)
        assert response.status_code == 302, response.data
        return self.code_step(pyotp.TOTP(secret).now())

    def logout(self):  # type: ignore[no-untyped-def]
        page = self.client.get("/staff/queue")
        return self.client.post("/staff/logout", data={"csrf_token": csrf_from(page.data)})


@pytest.fixture
def auth(client: FlaskClient, app: Flask) -> AuthActions:
    return AuthActions(client, app)

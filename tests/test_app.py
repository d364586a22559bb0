"""The application shell: health, errors, headers, languages, config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grievance.cases.models import Case
from grievance.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_answers_when_the_database_does(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": True}


def test_healthz_is_503_without_a_database(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db.engine.dispose()
        app.extensions["sqlalchemy"]._app_engines[app][None] = db.create_engine(
            "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
        )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] is False


@pytest.mark.parametrize(
    ("path", "code"),
    [("/no-such-page-<script>", 404), ("/xx/", 404), ("/healthz", 405)],
)
def test_error_pages_never_echo_input(client: FlaskClient, path: str, code: int) -> None:
    response = (client.post if code == 405 else client.get)(path)
    assert response.status_code == code
    assert b"<script>" not in response.data
    assert b"no-such-page" not in response.data


def test_error_pages_are_translated(client: FlaskClient) -> None:
    vi = client.get("/vi/no-such-page")
    ja = client.get("/ja/no-such-page")
    assert vi.status_code == ja.status_code == 404
    assert b'lang="vi"' in vi.data and b'lang="ja"' in ja.data
    assert vi.data != ja.data.replace(b'lang="ja"', b'lang="vi"')


def test_500_rolls_back_and_shows_a_plain_page(app: Flask, client: FlaskClient) -> None:
    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        db.session.add(Case(reference="BOOM", secret_hash=b"x" * 32, language="vi"))
        db.session.flush()
        raise RuntimeError("secret detail from the worker's narrative")

    response = client.get("/boom")
    assert response.status_code == 500
    assert b"secret detail" not in response.data
    with app.app_context():
        assert db.session.query(Case).filter_by(reference="BOOM").count() == 0


def test_security_headers_everywhere(client: FlaskClient) -> None:
    for path in ("/", "/vi/", "/staff/login", "/healthz", "/nope"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers  # production only


def test_language_prefix_sets_lang_and_direction(client: FlaskClient) -> None:
    urdu = client.get("/ur/")
    assert b'<html lang="ur" dir="rtl">' in urdu.data
    vi = client.get("/vi/")
    assert b'<html lang="vi" dir="ltr">' in vi.data
    assert client.get("/tl/").headers["Location"].endswith("/fil/")


def test_first_visit_is_negotiated_and_remembers_nothing(client: FlaskClient) -> None:
    response = client.get("/", headers={"Accept-Language": "ne, en;q=0.5"})
    assert b'href="/ne/"' in response.data.split(b'class="suggested"', 1)[1][:200]
    assert "Set-Cookie" not in response.headers
    # Every language is offered by its own name.
    for endonym in ("Tiếng Việt", "नेपाली", "اردو", "日本語", "Português"):
        assert endonym.encode() in response.data


def _run_cli(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GRIEVANCE", "SECRET", "DATABASE", "REDIS"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "grievance", "verify-audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secrets_exits_with_one_line() -> None:
    result = _run_cli({"GRIEVANCE_ENV": "production"})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY" in lines[0] and "GRIEVANCE_KEYS_FILE" in lines[0]
    assert "Traceback" not in result.stderr


def test_production_names_only_what_is_missing(tmp_path: Path) -> None:
    result = _run_cli(
        {
            "GRIEVANCE_ENV": "production",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db"),
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "TWILIO_AUTH_TOKEN": "t",
        }
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1
    assert "GRIEVANCE_KEYS_FILE" in lines[0] and "SECRET_KEY" not in lines[0]


def test_production_sends_hsts(tmp_path: Path) -> None:
    from config import ProductionConfig
    from grievance import create_app
    from grievance.crypto import KeyRing

    class Prod(ProductionConfig):
        SECRET_KEY = "x" * 40
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        GRIEVANCE_KEYS = None
        REDIS_URL = "redis://127.0.0.1:6379/15"
        TWILIO_AUTH_TOKEN = "t"
        GRIEVANCE_KEYS_FILE = str(tmp_path / "keys.json")

    KeyRing.generate().save(tmp_path / "keys.json")
    app = create_app(Prod)
    response = app.test_client().get("/healthz")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_an_app_that_is_dropped_is_freed() -> None:
    """Nothing global keeps an application alive once its last user lets go
    (a database listener holding the app once kept every test's app, and
    its in-memory database, until the end of the run)."""
    import gc
    import weakref

    from config import TestingConfig
    from grievance import create_app

    refs = []
    for _ in range(3):
        app = create_app(TestingConfig)
        with app.app_context():
            db.create_all()
        assert app.test_client().get("/healthz").status_code == 200
        refs.append(weakref.ref(app))
        del app
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]


def test_workers_starting_together_share_one_instance_file(tmp_path: Path) -> None:
    """Many processes may create an instance file at once: each reads the
    same, complete content, whichever wrote it."""
    import multiprocessing

    from grievance.instance_files import write_once

    path = tmp_path / "instance" / "secret_key"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        seen = pool.starmap(write_once, [(path, f"token-{n}") for n in range(64)])
    assert len(set(seen)) == 1 and seen[0].startswith("token-")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left

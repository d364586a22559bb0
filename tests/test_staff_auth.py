"""Staff login: password + TOTP, replay guard, lockout, server-side logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from grievance.extensions import commit, db
from grievance.staff import services
from grievance.staff.models import StaffUser
from tests.conftest import AuthActions, csrf_from, make_staff


def test_login_needs_password_and_code(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    with app.app_context():
        _user, secret = make_staff("caseworker", "cw@example.org")
    response = auth.password_step("cw@example.org")
    assert response.headers["Location"].endswith("/staff/2fa")
    # Not logged in yet: the queue still sends us to the login page.
    assert client.get("/staff/queue").status_code == 302
    response = auth.code_step(pyotp.TOTP(secret).now())
    assert response.status_code == 302
    assert client.get("/staff/queue").status_code == 200


def test_wrong_password_is_generic(app: Flask, auth: AuthActions) -> None:
    with app.app_context():
        make_staff("caseworker", "cw@example.org")
    wrong = auth.password_step("cw@example.org", "nope")
    unknown = auth.password_step("nobody@example.org", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert b"not correct" in wrong.data and b"not correct" in unknown.data


def test_used_code_is_refused_the_second_time(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        _, secret = make_staff("caseworker", "cw@example.org")
    code = pyotp.TOTP(secret).now()
    auth.password_step("cw@example.org")
    assert auth.code_step(code).status_code == 302
    auth.logout()
    auth.password_step("cw@example.org")
    replay = auth.code_step(code)
    assert replay.status_code == 401
    assert client.get("/staff/queue").status_code == 302


def test_replay_guard_in_the_service(app: Flask) -> None:
    with app.app_context():
        user, secret = make_staff()
        now = services.utcnow()
        code = pyotp.TOTP(secret).at(now)
        assert services.check_totp(user, code, now) is services.LoginResult.OK
        assert services.check_totp(user, code, now) is services.LoginResult.BAD
        # An older code (one step back) is refused after a newer one was used.
        earlier = pyotp.TOTP(secret).at(now - timedelta(seconds=30))
        assert services.check_totp(user, earlier, now) is services.LoginResult.BAD


def test_five_wrong_passwords_lock_the_account(app: Flask, auth: AuthActions) -> None:
    with app.app_context():
        _, _secret = make_staff("caseworker", "cw@example.org")
    for _ in range(5):
        auth.password_step("cw@example.org", "wrong password")
    response = auth.password_step("cw@example.org")  # the right one, too late
    assert response.status_code == 401
    assert b"locked" in response.data
    with app.app_context():
        user = services.find_by_email("cw@example.org")
        assert services.is_locked(user)
        # After 15 minutes the lock is gone.
        assert not services.is_locked(user, services.utcnow() + timedelta(minutes=16))


def test_wrong_codes_count_towards_the_lock(app: Flask, auth: AuthActions) -> None:
    with app.app_context():
        make_staff("caseworker", "cw@example.org")
    auth.password_step("cw@example.org")
    for _ in range(5):
        auth.code_step("000000")
    with app.app_context():
        assert services.is_locked(services.find_by_email("cw@example.org"))


def test_cookie_replayed_after_logout_gets_the_login_page(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        _, secret = make_staff("caseworker", "cw@example.org")
    auth.login("cw@example.org", secret)
    stolen = client.get_cookie("gs")
    assert stolen is not None
    assert client.get("/staff/queue").status_code == 200
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("gs", stolen.value)
    response = thief.get("/staff/queue")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_disabling_an_account_ends_its_session(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        _, secret = make_staff("caseworker", "cw@example.org")
    auth.login("cw@example.org", secret)
    with app.app_context():
        services.set_disabled(services.find_by_email("cw@example.org"), True)
        commit()
    assert client.get("/staff/queue").status_code == 302


def test_each_page_reads_the_account_alone_without_its_data_key(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account is read on every staff page; its data key (for the
    two-factor secret) is read only where it is used."""
    from grievance import driver
    from tests.test_reference_cache import StatementCounter

    with app.app_context():
        _, secret = make_staff("caseworker", "cw@example.org")
    auth.login("cw@example.org", secret)
    # The account is read on the driver's connection (driver.session_rows),
    # which SQLAlchemy's events do not see: its statements are noted here.
    on_driver: list[str] = []
    execute = driver._execute

    def noted(found: Any, *args: Any) -> Any:
        on_driver.append(found.sql)
        return execute(found, *args)

    monkeypatch.setattr(driver, "_execute", noted)
    with app.app_context(), StatementCounter() as counter:
        assert client.get("/staff/queue").status_code == 200
    accounts = [
        s
        for s in counter.statements + on_driver
        if "FROM staff_users" in s and "WHERE staff_users.id" in s
    ]
    assert accounts, counter.statements
    assert not [s for s in accounts if "data_keys" in s], accounts
    with app.app_context():
        from grievance.staff.auth import load_user

        user = services.find_by_email("cw@example.org")
        assert user is not None
        db.session.expunge_all()
        loaded = load_user(f"{user.id}:{user.session_epoch}")
        assert loaded is not None and loaded.totp_secret  # the key, read when asked for
        assert load_user(f"{user.id}:{user.session_epoch + 1}") is None


def test_the_loaded_account_is_the_sessions_own(app: Flask) -> None:
    """load_user reads the account's columns and makes the instance itself
    (no ORM query): it must be what the ORM would load, clean, persistent,
    and a change to it must be written."""
    from sqlalchemy import inspect

    from grievance.staff.auth import load_user
    from tests.test_reference_cache import StatementCounter

    with app.app_context():
        user, _ = make_staff("caseworker", "cw@example.org")
        user.display_name = "Aiko"
        commit()
        key = f"{user.id}:{user.session_epoch}"
        expected = {attr.key: getattr(user, attr.key) for attr in StaffUser.__mapper__.column_attrs}
        db.session.remove()
        loaded = load_user(key)
        assert loaded is not None
        assert {name: getattr(loaded, name) for name in expected} == expected
        assert isinstance(loaded.created_at, type(user.created_at))
        assert loaded.disabled is False and loaded.totp_confirmed is True
        state = inspect(loaded)
        assert state.persistent and loaded in db.session and not db.session.dirty
        # The same instance the session's own reads return.
        assert db.session.get(StaffUser, loaded.id) is loaded
        assert load_user(key) is loaded
        with StatementCounter() as counter:
            commit()
        assert not [s for s in counter.statements if s.startswith("UPDATE")], counter.statements
        loaded = load_user(key)
        assert loaded is not None
        loaded.language = "en"
        commit()
        db.session.remove()
        assert services.find_by_email("cw@example.org").language == "en"  # type: ignore[union-attr]


def test_worker_pages_do_not_read_a_staff_account(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """A staff member's browser on a worker page: the page has no use for
    the account, so it is not read; the staff pages still show it."""
    from tests.test_reference_cache import StatementCounter

    with app.app_context():
        user, secret = make_staff("caseworker", "cw@example.org")
        user.display_name = "Aiko"
        commit()
    auth.login("cw@example.org", secret)
    for path in ("/en/", "/en/report", "/en/follow-up"):
        with app.app_context(), StatementCounter() as counter:
            assert client.get(path).status_code == 200
        assert not [s for s in counter.statements if "FROM staff_users" in s], path
    page = client.get("/staff/queue")
    assert page.status_code == 200 and "Aiko" in page.get_data(as_text=True)


def test_idle_and_absolute_timeouts(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    with app.app_context():
        _, secret = make_staff("caseworker", "cw@example.org")
    auth.login("cw@example.org", secret)
    with client.session_transaction() as session:
        session["seen_at"] -= 31 * 60
    assert client.get("/staff/queue").status_code == 302

    auth.login("cw@example.org", secret)
    with client.session_transaction() as session:
        session["auth_at"] -= 12 * 3600 + 1
    assert client.get("/staff/queue").status_code == 302


def test_first_login_enrols_with_an_inline_qr_code(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        _, secret = make_staff("caseworker", "new@example.org", confirmed=False)
    response = auth.password_step("new@example.org")
    assert response.headers["Location"].endswith("/staff/2fa/enrol")
    page = client.get("/staff/2fa/enrol")
    assert b"<svg" in page.data and secret.encode() in page.data
    assert b"http" not in page.data.split(b"<svg", 1)[1].split(b"</svg>", 1)[0].replace(
        b"http://www.w3.org", b""
    )
    response = auth.code_step(pyotp.TOTP(secret).now(), "/staff/2fa/enrol")
    assert response.status_code == 302
    with app.app_context():
        assert services.find_by_email("new@example.org").totp_confirmed


def test_roles_are_enforced(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    with app.app_context():
        _, secret = make_staff("advisor", "adv@example.org", partner_code="U-DEMO-KANTO")
    auth.login("adv@example.org", secret)
    assert client.get("/staff/queue").status_code == 403
    assert client.get("/advisor/referrals").status_code == 200


def test_login_form_requires_csrf(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_staff("caseworker", "cw@example.org")
    response = client.post("/staff/login", data={"email": "cw@example.org", "password": "x"})
    assert response.status_code == 400


def test_cookie_flags(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    with app.app_context():
        _, _secret = make_staff("caseworker", "cw@example.org")
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"email": "cw@example.org", "password": "x", "csrf_token": csrf_from(page.data)},
    )
    cookie = response.headers.get("Set-Cookie", "") or page.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_create_user_cli_prints_password_and_secret(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=[
            "grievance",
            "create-user",
            "adv@example.org",
            "--role",
            "advisor",
            "--partner",
            "U-DEMO-KANTO",
        ]
    )
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.strip().splitlines())
    with app.app_context():
        user = db.session.query(StaffUser).filter_by(email="adv@example.org").one()
        assert services.check_password(user, lines["password"]) is services.LoginResult.OK
        assert user.totp_secret == lines["totp-secret"]
        assert user.partner_id is not None
    refused = runner.invoke(args=["grievance", "create-user", "x@example.org", "--role", "advisor"])
    assert refused.exit_code != 0


def test_demo_code_only_for_demo_accounts(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        make_staff("caseworker", "real@example.org")
        account = services.create_user("demo@example.org", "caseworker", is_demo=True)
        commit()
        secret = account.totp_secret
    ok = runner.invoke(args=["grievance", "demo-code", "demo@example.org"])
    assert ok.exit_code == 0 and ok.output.strip() == pyotp.TOTP(secret).now()
    refused = runner.invoke(args=["grievance", "demo-code", "real@example.org"])
    assert refused.exit_code != 0
    app.config["ALLOW_DEMO_CODES"] = False  # as under the production config
    refused = runner.invoke(args=["grievance", "demo-code", "demo@example.org"])
    assert refused.exit_code != 0

"""The session cookie's serializer, made once per key (grievance.session_cookie)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface

from grievance.session_cookie import SessionCookie


def _signed(app: Flask, data: dict[str, object]) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return str(serializer.dumps(data))


def _read(app: Flask, cookie: str) -> dict[str, object]:
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
        return dict(session)


def test_one_serializer_serves_every_request_with_the_same_key(app: Flask) -> None:
    interface = app.session_interface
    assert isinstance(interface, SessionCookie)
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)
    assert _read(app, _signed(app, {"n": 1})) == {"n": 1}


def test_a_new_key_signs_anew_and_refuses_the_old_cookies(app: Flask) -> None:
    old_cookie = _signed(app, {"n": 1})
    old_serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    app.secret_key = "another-secret-key-" + "y" * 30
    assert app.session_interface.get_signing_serializer(app) is not old_serializer  # type: ignore[attr-defined]
    # Signed under the old key: an empty session, as Flask's own would be.
    assert _read(app, old_cookie) == {}
    assert _read(app, _signed(app, {"n": 2})) == {"n": 2}
    # The old key as a fallback: its cookies are read again.
    app.config["SECRET_KEY_FALLBACKS"] = [old_serializer.secret_keys[-1]]
    assert _read(app, old_cookie) == {"n": 1}


def _saved(app: Flask, interface: SecureCookieSessionInterface, data: dict[str, object]) -> Any:
    """The response headers `interface` writes for a session that held
    `data` and was emptied by the request."""
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/", headers={"Cookie": f"{name}={_signed(app, data)}"}):
        current = interface.open_session(app, request)
        assert current is not None and dict(current) == data
        current.clear()
        response = app.response_class("")
        interface.save_session(app, current, response)
        return response.headers


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {
            "SESSION_COOKIE_SECURE": True,
            "SESSION_COOKIE_SAMESITE": "Strict",
            "SESSION_COOKIE_DOMAIN": "example.org",
            "SESSION_COOKIE_PATH": "/staff",
            "SESSION_COOKIE_NAME": "other",
        },
    ],
)
def test_an_emptied_session_deletes_its_cookie_as_flask_does(
    app: Flask, settings: dict[str, object]
) -> None:
    app.config.update(settings)
    ours = app.session_interface
    assert isinstance(ours, SessionCookie)
    flasks = _saved(app, SecureCookieSessionInterface(), {"csrf_token": "x"})
    for _ in range(2):  # written, then kept
        headers = _saved(app, ours, {"csrf_token": "x"})
        assert headers.getlist("Set-Cookie") == flasks.getlist("Set-Cookie")
        assert headers.get("Vary") == flasks.get("Vary") == "Cookie"
    assert "Max-Age=0" in headers["Set-Cookie"]
    # A session that was not emptied is saved as before.
    with app.test_request_context("/"):
        session["n"] = 3
        response = app.response_class("")
        ours.save_session(app, session, response)
        cookie = response.headers["Set-Cookie"]
    assert "Max-Age=0" not in cookie
    assert _read(app, cookie.split(";")[0].split("=", 1)[1]) == {"n": 3}


def test_cookies_are_signed_as_flasks_own_sign_them(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL's HMAC and a kept key (grievance.signing): the same bytes."""
    from itsdangerous import TimestampSigner

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_800_000_000)
    app.config["SECRET_KEY_FALLBACKS"] = ["an-older-secret-key-" + "z" * 30]
    ours = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    theirs = SecureCookieSessionInterface().get_signing_serializer(app)
    assert ours is not None and theirs is not None
    data = {"csrf_token": "abc", "n": 3}
    assert ours.dumps(data) == theirs.dumps(data)
    assert ours.loads(theirs.dumps(data)) == data
    # A cookie signed under the older key is read by both.
    old = SecureCookieSessionInterface()
    app_key = app.secret_key
    app.secret_key = app.config["SECRET_KEY_FALLBACKS"][0]
    app.config["SECRET_KEY_FALLBACKS"] = []
    signed_before = old.get_signing_serializer(app).dumps(data)  # type: ignore[union-attr]
    app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = app_key, [app.secret_key]
    assert ours.loads(signed_before) == data
    # A changed byte is refused.
    tampered = signed_before[:-1] + ("A" if signed_before[-1] != "A" else "B")
    with pytest.raises(Exception, match="does not match"):
        ours.loads(tampered)

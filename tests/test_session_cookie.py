"""The session cookie's serializer, made once per key (grievance.session_cookie)."""

from __future__ import annotations

from flask import Flask, session

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

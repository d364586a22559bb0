"""CSRF tokens made and checked with a serializer made once
(grievance.csrf_tokens, grievance.signing): the same tokens and the same
answers as Flask-WTF's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, g, session
from flask.testing import FlaskClient
from flask_wtf import csrf as flask_wtf_csrf
from itsdangerous import TimestampSigner
from wtforms import ValidationError

from grievance import csrf_tokens
from tests.conftest import csrf_from


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_800_000_000)
    yield


def test_a_token_is_the_one_flask_wtf_makes(app: Flask, fixed_clock: None) -> None:
    with app.test_request_context("/"):
        ours = csrf_tokens.make_token()
        del g.csrf_token  # made once a request: let Flask-WTF make its own
        theirs = flask_wtf_csrf.generate_csrf()
        assert ours == theirs
        assert session["csrf_token"]


def _answer(check: object, data: str | None) -> str:
    try:
        check(data)  # type: ignore[operator]
    except ValidationError as error:
        return str(error.args[0])
    return "valid"


def test_every_token_gets_flask_wtfs_answer(app: Flask) -> None:
    with app.test_request_context("/"):
        good = flask_wtf_csrf.generate_csrf()
        head, _, signature = good.rpartition(".")
        other = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
        sent = [good, csrf_tokens.make_token(), None, "", "junk", f"{head}.{other}"]
        answers = [
            (_answer(csrf_tokens.check_token, token), _answer(flask_wtf_csrf.validate_csrf, token))
            for token in sent
        ]
        assert all(ours == theirs for ours, theirs in answers), answers
        assert [ours for ours, _ in answers[:3]] == [
            "valid",
            "valid",
            "The CSRF token is missing.",
        ]
        assert answers[5][0] == "The CSRF token is invalid."
        # A token signed for another session's value does not match.
        session["csrf_token"] = "another value"
        assert _answer(csrf_tokens.check_token, good) == "The CSRF tokens do not match."
        assert _answer(flask_wtf_csrf.validate_csrf, good) == "The CSRF tokens do not match."
        # No token kept in the session at all.
        del session["csrf_token"]
        assert _answer(csrf_tokens.check_token, good) == "The CSRF session token is missing."


def test_an_old_token_expires_with_the_time_limit(app: Flask) -> None:
    with app.test_request_context("/"):
        token = csrf_tokens.make_token()
        with pytest.raises(ValidationError, match="expired"):
            csrf_tokens.check_token(token, time_limit=-1)
        csrf_tokens.check_token(token, time_limit=60)


def test_a_form_posted_without_its_token_is_refused(client: FlaskClient) -> None:
    page = client.get("/en/report")
    token = csrf_from(page.data)
    assert client.post("/en/report", data={"danger": "no"}).status_code == 400
    assert client.post("/en/report", data={"danger": "no", "csrf_token": "x"}).status_code == 400
    accepted = client.post("/en/report", data={"danger": "no", "csrf_token": token})
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    ("referrer", "status"),
    [(None, 400), ("https://elsewhere.example/en/report", 400), ("https://localhost/en/", 200)],
)
def test_over_https_the_referrer_must_be_this_site_when_strict(
    app: Flask, client: FlaskClient, referrer: str | None, status: int
) -> None:
    app.config["WTF_CSRF_SSL_STRICT"] = True
    page = client.get("/en/report", base_url="https://localhost")
    headers = {"Referer": referrer} if referrer else {}
    response = client.post(
        "/en/report",
        base_url="https://localhost",
        data={"danger": "no", "csrf_token": csrf_from(page.data)},
        headers=headers,
    )
    assert response.status_code == status

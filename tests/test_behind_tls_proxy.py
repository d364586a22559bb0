"""Behind the TLS proxy: forms work without a Referer header, and no cookie
carries anything derived from the client's address.

Both were found by the end-to-end leak scan (tests/integration/test_leak_scan.py);
these are the fast checks that keep them fixed.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, csrf_from, make_staff

HTTPS = "https://localhost"
ADDRESS = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}


def test_a_form_posted_over_https_without_a_referer_is_accepted(
    app: Flask, client: FlaskClient
) -> None:
    # Our pages say `Referrer-Policy: no-referrer`, so browsers send none.
    page = client.get("/vi/report", base_url=HTTPS)
    response = client.post(
        "/vi/report", base_url=HTTPS, data={"csrf_token": csrf_from(page.data), "danger": "no"}
    )
    assert response.status_code == 200
    assert b'name="narrative"' in response.data


def test_a_form_without_its_token_is_still_refused_over_https(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/vi/report", base_url=HTTPS)
    response = client.post("/vi/report", base_url=HTTPS, data={"danger": "no"})
    assert response.status_code == 400


def test_staff_sessions_keep_no_trace_of_the_client_address(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    # An anonymous visit to a staff page, then a login: Flask-Login would
    # store a hash of the address and user agent both times.
    client.get("/staff/queue", environ_base=ADDRESS)
    with client.session_transaction() as session:
        assert not session.get("_id")
    with app.app_context():
        user, secret = make_staff("caseworker")
        email = user.email
    client.environ_base.update(ADDRESS)
    assert auth.login(email, secret).status_code == 302
    with client.session_transaction() as session:
        assert session.get("_user_id") and not session.get("_id")

"""The forms' CSRF token: signed when a form is drawn, checked as before."""

from __future__ import annotations

import re

from flask import Flask, g, session
from flask.testing import FlaskClient
from flask_wtf.csrf import validate_csrf

from grievance.intake.forms import ReportForm


def test_a_form_only_checked_signs_no_token(app: Flask) -> None:
    with app.test_request_context("/en/report", method="POST", data={"narrative": "x"}):
        form = ReportForm()
        form.validate()
        # Nothing signed, nothing put in the session for a form not drawn.
        assert "csrf_token" not in g
        assert "csrf_token" not in session


def test_a_drawn_form_carries_a_token_that_passes_the_check(app: Flask) -> None:
    with app.test_request_context("/en/report"):
        form = ReportForm()
        html = str(form.csrf_token)
        token = re.search(r'value="([^"]+)"', html)
        assert token is not None
        validate_csrf(token.group(1))  # raises if it would be refused
        # Drawn twice, the same token: signed once per request.
        assert form.csrf_token._value() == token.group(1)


def test_a_report_without_its_token_is_still_refused(client: FlaskClient) -> None:
    answer = client.post(
        "/en/report",
        data={
            "narrative": "My wages were not paid.",
            "danger": "no",
            "contact_method": "web",
            "consent_store": "y",
        },
    )
    assert answer.status_code == 400
    assert b"not paid" not in answer.data

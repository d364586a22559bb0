"""A valid form's data taken without building the form (grievance.quick_forms),
held to what the built form finds for the same data."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, NumberRange

from grievance import quick_forms
from grievance.cases.models import Case
from grievance.extensions import db
from grievance.formbase import BaseForm
from grievance.intake import labels, views
from grievance.intake.forms import NAME_MAX, NARRATIVE_MAX, ReportForm
from grievance.intake.models import HeldReport
from tests.conftest import csrf_from
from tests.test_intake_web import start_report

# The answers a field may be sent: what the form offers, what it refuses,
# and what sits on the edges (blank, whitespace, just too long).
TEXT = st.sampled_from(["", " ", "\t\n", "a", " x ", "Tôi chưa được trả lương", "<b>&"])


def _long(limit: int) -> st.SearchStrategy[str]:
    return st.sampled_from(["y" * limit, "y" * (limit + 1), " " * (limit + 1)])


FIELD_VALUES: dict[str, st.SearchStrategy[str]] = {
    "danger": st.sampled_from(["no", "yes", "", "maybe"]),
    "narrative": TEXT | _long(NARRATIVE_MAX),
    "categories": st.sampled_from([*labels.CATEGORY_LABELS, "NOT_A_CODE", ""]),
    "since": st.sampled_from([code for code, _ in labels.SINCE_CHOICES] + ["", "never", " "]),
    "prefecture": st.sampled_from(["13", "47", "", "48", " ", "tokyo"]),
    "industry": st.sampled_from([code for code, _ in labels.INDUSTRY_CHOICES] + ["", "x"]),
    "residence_status": st.sampled_from(
        [code for code, _ in labels.RESIDENCE_CHOICES] + ["", "tourist"]
    ),
    "employer": TEXT | _long(NAME_MAX),
    "organisation": TEXT | _long(NAME_MAX),
    "broker": TEXT,
    "contact_method": st.sampled_from(
        [code for code, _ in labels.CONTACT_CHOICES] + ["", "pigeon"]
    ),
    "phone": st.sampled_from(["", "+81 90 1234 5678", "0" * 33, " "]),
    "email": st.sampled_from(["", "a@b.jp", "not an address", "a@b", " a@b.jp"]),
    "safe_windows": st.sampled_from([code for code, _ in labels.SAFE_WINDOW_CHOICES] + ["x"]),
    "own_phone": st.sampled_from([code for code, _ in labels.OWN_PHONE_CHOICES] + ["", "?"]),
    "consent_store": st.sampled_from(["y", "", "false", "no"]),
    "homepage": st.sampled_from(["", " ", "http://spam.example"]),
    "attachments": st.sampled_from(["", "not a file"]),
    "unknown_field": TEXT,
}


@st.composite
def sent_forms(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A form body: each field absent, sent once, or sent several times."""
    pairs = []
    for name, values in FIELD_VALUES.items():
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
            pairs.append((name, draw(values)))
    return pairs


def _built(form_class: type) -> tuple[bool, dict[str, Any]]:
    """What the built form says of the request's data: valid, and its data."""
    form = form_class()
    valid = form.validate()
    data = {name: value for name, value in form.data.items() if name != "csrf_token"}
    return valid, data


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pairs=sent_forms())
def test_the_data_taken_is_the_built_forms_for_a_valid_form(
    app: Flask, pairs: list[tuple[str, str]]
) -> None:
    with app.test_request_context("/en/report", method="POST", data=MultiDict(pairs)):
        g.csrf_valid = True  # as CSRFProtection leaves it
        quick = quick_forms.valid_data(ReportForm, request.form, request.files)
        valid, data = _built(ReportForm)
    if quick is not None:
        assert valid, pairs
        assert quick == data
    else:
        # Never unsure of a form of known fields that the form accepts.
        assert not valid, pairs


def _plain_report(**changes: str) -> dict[str, str]:
    return {
        "danger": "no",
        "narrative": "My wages were not paid for three months.",
        "categories": "WAGE_UNPAID",
        "contact_method": "web",
        "consent_store": "y",
        **changes,
    }


def _quick(app: Flask, data: dict[str, str] | MultiDict[str, Any]) -> dict[str, Any] | None:
    with app.test_request_context("/en/report", method="POST", data=data):
        g.csrf_valid = True
        return quick_forms.valid_data(ReportForm, request.form, request.files)


def test_a_plain_report_is_taken_with_the_forms_own_data(app: Flask) -> None:
    quick = _quick(app, _plain_report(prefecture="13", phone=""))
    assert quick is not None
    assert quick["categories"] == ["WAGE_UNPAID"]
    assert quick["prefecture"] == "13"
    assert quick["since"] is None  # not sent, and no choice: Optional lets it be
    assert quick["consent_store"] is True
    assert quick["contact_method"] == "web"


@pytest.mark.parametrize(
    "changes",
    [
        {"narrative": "   "},  # DataRequired: only blanks
        {"narrative": "x" * (NARRATIVE_MAX + 1)},
        {"consent_store": ""},
        {"contact_method": ""},  # InputRequired
        {"contact_method": "pigeon"},  # not a choice
        {"prefecture": "48"},  # sent, and not a choice
        {"email": "not an address"},
        {"employer": "x" * (NAME_MAX + 1)},
    ],
)
def test_anything_the_form_refuses_is_left_to_the_form(app: Flask, changes: dict[str, str]) -> None:
    assert _quick(app, _plain_report(**changes)) is None


def test_a_file_sent_under_a_text_fields_name_is_left_to_the_form(app: Flask) -> None:
    sent = {**_plain_report(), "narrative": (io.BytesIO(b"x"), "a.txt")}
    assert _quick(app, MultiDict(list(sent.items()))) is None


class _WithNumber(BaseForm):
    name = StringField(validators=[DataRequired()])
    age = IntegerField(validators=[NumberRange(min=16)])


class _WithInlineCheck(BaseForm):
    name = StringField(validators=[DataRequired()])

    def validate_name(self, field: Any) -> None:
        raise ValueError("never")


@pytest.mark.parametrize("form_class", [_WithNumber, _WithInlineCheck])
def test_a_form_with_a_field_or_check_of_another_kind_is_always_built(
    app: Flask, form_class: type
) -> None:
    with app.test_request_context("/", method="POST", data={"name": "x", "age": "20"}):
        g.csrf_valid = True
        assert quick_forms.valid_data(form_class, request.form, request.files) is None


@pytest.mark.parametrize("empty_file_part", [False, True])
def test_the_report_view_takes_a_plain_report_without_building_the_form(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, empty_file_part: bool
) -> None:
    token = csrf_from(start_report(client, "en"))

    def built(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the form was built")

    monkeypatch.setattr(views, "_report_by_form", built)
    sent: dict[str, Any] = {**_plain_report(), "csrf_token": token}
    if empty_file_part:
        # What a browser sends for a file input left empty.
        sent["attachments"] = (io.BytesIO(b""), "")
    response = client.post("/en/report", data=sent, content_type="multipart/form-data")
    assert response.status_code == 200
    with app.app_context():
        # Held, then opened by the job (in this process, after the commit).
        case = db.session.scalars(select(Case)).one()
        assert [c.code for c in case.categories] == ["WAGE_UNPAID"]
        assert case.narrative == _plain_report()["narrative"]
        assert db.session.scalar(select(func.count()).select_from(HeldReport)) == 0


def test_a_report_with_the_hidden_field_filled_still_meets_the_form(
    app: Flask, client: FlaskClient
) -> None:
    token = csrf_from(start_report(client, "en"))
    response = client.post(
        "/en/report", data={**_plain_report(homepage="http://x"), "csrf_token": token}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0

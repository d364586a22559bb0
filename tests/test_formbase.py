"""The forms' CSRF token: signed when a form is drawn, checked as before."""

from __future__ import annotations

import re

from flask import Flask, g, session
from flask.testing import FlaskClient
from flask_wtf.csrf import validate_csrf
from wtforms import IntegerField

from grievance import i18n
from grievance.formbase import BaseForm
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


class _Numbers(BaseForm):
    class Meta:
        csrf = False

    count = IntegerField()  # no label: WTForms makes one, in the form's language


def _built(app: Flask, lang: str, count: str) -> _Numbers:
    with app.test_request_context("/", method="POST", data={"count": count}):
        i18n.set_language(lang)
        form = _Numbers()
        form.validate()
        return form


def test_fields_copied_from_one_built_before_keep_their_own_data_and_language(
    app: Flask,
) -> None:
    """Fields are copied from one built per language (formbase): a form's
    data, errors and messages are its own, in its own language."""
    wrong_ja = _built(app, "ja", "many")
    assert wrong_ja.count.errors == ["無効な整数です。"]
    right_en = _built(app, "en", "7")
    assert right_en.count.data == 7 and right_en.count.errors == []
    wrong_en = _built(app, "en", "lots")
    assert wrong_en.count.errors == ["Not a valid integer value."]
    again_ja = _built(app, "ja", "3")
    assert again_ja.count.data == 3 and again_ja.count.errors == []
    # The earlier forms kept what they had.
    assert wrong_ja.count.errors == ["無効な整数です。"] and wrong_ja.count.raw_data == ["many"]
    assert right_en.count.data == 7
    # Each copy belongs to its own form; what they share was built once.
    assert right_en.count._form is right_en and right_en.count.meta is right_en.meta
    assert right_en.count.label is wrong_en.count.label
    assert right_en.count is not wrong_en.count


def test_messages_follow_the_page_language_even_when_it_changes(app: Flask) -> None:
    """WTForms' messages come in the page language's locale, read from the
    language itself (not Flask-Babel's locale, kept once asked for)."""
    assert _built(app, "pt-BR", "x").count.errors == ["O valor inteiro não é válido."]
    assert _built(app, "zh-Hans", "x").count.errors == ["不是有效的整数。"]
    with app.test_request_context("/", method="POST", data={"count": "x"}):
        i18n.set_language("es")
        first = _Numbers()
        first.validate()
        i18n.set_language("ja")
        second = _Numbers()
        second.validate()
    assert first.count.errors == ["No es un valor entero válido."]
    assert second.count.errors == ["無効な整数です。"]


def test_the_csrf_field_is_built_for_each_form(app: Flask) -> None:
    with app.test_request_context("/en/report"):
        first, second = ReportForm(), ReportForm()
        assert first.csrf_token is not second.csrf_token
        assert first.csrf_token.csrf_impl is not second.csrf_token.csrf_impl

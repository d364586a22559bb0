"""The one-pass checkbox list draws exactly what WTForms' ListWidget draws."""

from __future__ import annotations

from flask import Flask
from wtforms import Form, SelectMultipleField
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from grievance.cases.forms import TriageForm
from grievance.widgets import CheckboxList

CHOICES = [("A1", 'Wages <unpaid> & "late"'), ("B2", "Passport taken"), ("C3", "")]


class Fast(Form):
    pick = SelectMultipleField(
        "Pick", choices=CHOICES, widget=CheckboxList(), option_widget=CheckboxInput()
    )


class Reference(Form):
    pick = SelectMultipleField(
        "Pick",
        choices=CHOICES,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


def test_same_html_as_wtforms_with_and_without_choices_made() -> None:
    for data in ([], ["B2"], ["A1", "C3"]):
        fast, reference = (
            Fast(prefix="t", data={"pick": data}),
            Reference(prefix="t", data={"pick": data}),
        )
        assert str(fast.pick(class_="choices")) == str(reference.pick(class_="choices"))
    assert "&lt;unpaid&gt; &amp; &#34;late&#34;" in str(Fast(data={"pick": []}).pick())
    assert "checked" in str(Fast(data={"pick": ["B2"]}).pick())


def test_required_options_are_drawn_by_wtforms() -> None:
    class Required(Form):
        pick = SelectMultipleField(
            "Pick",
            choices=CHOICES,
            validators=[DataRequired()],
            widget=CheckboxList(),
            option_widget=CheckboxInput(),
        )

    html = str(Required().pick())
    assert html.count("required") == len(CHOICES)


def test_triage_form_uses_it(app: Flask) -> None:
    with app.test_request_context():
        form = TriageForm(prefix="triage")
        form.categories.choices = CHOICES
        form.categories.data = ["A1"]
        html = str(form.categories())
        assert html.startswith('<ul id="triage-categories">')
        assert '<input checked id="triage-categories-0"' in html


def test_fast_select_draws_what_wtforms_draws() -> None:
    from wtforms import SelectField as WTSelectField

    from grievance.widgets import SelectField

    choices = [("", "—"), ("a", 'A <b> "c"'), ("b", "")]

    class Fast(Form):
        pick = SelectField("Pick", choices=choices)

    class Reference(Form):
        pick = WTSelectField("Pick", choices=choices)

    for value in ("", "a", "b", "zz"):
        fast = Fast(prefix="s", data={"pick": value})
        reference = Reference(prefix="s", data={"pick": value})
        assert str(fast.pick(class_="x")) == str(reference.pick(class_="x"))
    assert 'selected value="a"' in str(Fast(data={"pick": "a"}).pick())

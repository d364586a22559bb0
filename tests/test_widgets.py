"""The one-pass checkbox list draws exactly what WTForms' ListWidget draws."""

from __future__ import annotations

from flask import Flask
from wtforms import Form, SelectMultipleField
from wtforms.meta import DefaultMeta
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from grievance.cases.forms import TriageForm
from grievance.formbase import options
from grievance.widgets import CheckboxList

CHOICES = options([("A1", 'Wages <unpaid> & "late"'), ("B2", "Passport taken"), ("C3", "")])


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

    choices = options([("", "—"), ("a", 'A <b> "c"'), ("b", "")])

    class Fast(Form):
        pick = SelectField("Pick", choices=choices)

    class Reference(Form):
        pick = WTSelectField("Pick", choices=choices)

    for value in ("", "a", "b", "zz"):
        fast = Fast(prefix="s", data={"pick": value})
        reference = Reference(prefix="s", data={"pick": value})
        assert str(fast.pick(class_="x")) == str(reference.pick(class_="x"))
    assert 'selected value="a"' in str(Fast(data={"pick": "a"}).pick())

    # A required select carries the attribute, as WTForms writes it.
    from wtforms.validators import DataRequired

    class FastRequired(Form):
        pick = SelectField("Pick", choices=choices, validators=[DataRequired()])

    class ReferenceRequired(Form):
        pick = WTSelectField("Pick", choices=choices, validators=[DataRequired()])

    fast_html = str(FastRequired(data={"pick": "b"}).pick(data_x="1"))
    assert fast_html == str(ReferenceRequired(data={"pick": "b"}).pick(data_x="1"))
    assert " required" in fast_html


def _all_forms() -> list[type]:
    from grievance.formbase import BaseForm

    found, todo = [], [BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_every_form_field_is_drawn_as_wtforms_draws_it(app: Flask) -> None:
    """The faster widgets (through BaseForm) write exactly what WTForms'
    own widgets write, for every field of every form of the app."""
    forms = _all_forms()
    assert len(forms) > 20
    compared = 0
    with app.test_request_context():
        for cls in forms:
            form = cls(prefix="t")
            for field in form:
                if getattr(field, "choices", ()) is None:
                    continue  # choices are filled in by the view
                for extra in ({}, {"class_": "wide", "data_x": 'a"<b>', "autocomplete": False}):
                    reference = DefaultMeta.render_field(form.meta, field, dict(extra))
                    assert str(field(**extra)) == str(reference), (cls.__name__, field.name)
                    compared += 1
    assert compared > 100


def test_html_params_writes_what_wtforms_writes() -> None:
    from markupsafe import Markup
    from wtforms.widgets import html_params as reference

    from grievance.widgets import html_params

    cases = [
        {},
        {"id": "x", "name": "n", "value": 'a "quoted" <tag> & more'},
        {"class_": "c", "for_": "f", "data_user_name": "u", "aria_labelledby": "l"},
        {"required": True, "disabled": False, "checked": True, "maxlength": 200},
        {"value": Markup('<b title="x">safe</b>'), "placeholder": "ABCD-2345"},
    ]
    for kwargs in cases:
        assert html_params(**kwargs) == reference(**kwargs)


def test_the_quick_choice_check_judges_as_wtforms_does() -> None:
    from werkzeug.datastructures import MultiDict
    from wtforms import RadioField as WTRadioField
    from wtforms import SelectField as WTSelectField

    from grievance.widgets import RadioField, SelectField

    numbers = options([(1, "one"), (2, "two")])

    class Quick(Form):
        pick = SelectField("Pick", choices=CHOICES)
        number = SelectField("Number", choices=numbers, coerce=int)
        way = RadioField("Way", choices=CHOICES[:2])
        free = SelectField("Free", choices=CHOICES, validate_choice=False)

    class WTForms(Form):
        pick = WTSelectField("Pick", choices=CHOICES)
        number = WTSelectField("Number", choices=numbers, coerce=int)
        way = WTRadioField("Way", choices=CHOICES[:2])
        free = WTSelectField("Free", choices=CHOICES, validate_choice=False)

    posts = [
        {"pick": "B2", "number": "2", "way": "A1", "free": "anything"},
        {"pick": "C3", "number": "1", "way": "B2", "free": ""},
        {"pick": "Z9", "number": "3", "way": "C3", "free": "A1"},
        {"pick": "", "number": "x", "way": "", "free": "B2"},
        {},
    ]
    for post in posts:
        quick, reference = Quick(MultiDict(post)), WTForms(MultiDict(post))
        assert quick.validate() == reference.validate()
        assert quick.errors == reference.errors
    # Options given as (value, label) pairs, the shape WTForms deprecates,
    # are judged alike.
    for post in posts:
        quick, reference = Quick(MultiDict(post)), WTForms(MultiDict(post))
        for form in (quick, reference):
            form.pick.choices = [(c.value, c.label) for c in CHOICES]
        assert quick.validate() == reference.validate()
        assert quick.errors == reference.errors
    # Not a choice: WTForms' own message.
    wrong = Quick(MultiDict({"pick": "Z9", "number": "1", "way": "A1"}))
    assert not wrong.validate() and wrong.errors == {"pick": ["Not a valid choice."]}

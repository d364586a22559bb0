"""Forms of the admin pages (CSRF through Flask-WTF)."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from grievance.cases.settings import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
from grievance.formbase import BaseForm, options
from grievance.i18n import lazy_gettext as _l

ROLE_CHOICES = [
    ("caseworker", _l("Caseworker")),
    ("advisor", _l("Advisor (a partner's staff)")),
    ("admin", _l("Admin")),
]


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CreateStaffForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=options(ROLE_CHOICES), validators=[DataRequired()])
    partner = SelectField(_l("Partner (advisors only)"), choices=[], validate_choice=False)
    display_name = StringField(_l("Name shown to colleagues"), validators=[Length(max=80)])


class OnCallForm(BaseForm):
    on_call = CheckboxesField(_l("On call"), coerce=int, validate_choice=False)


class LanguagesForm(BaseForm):
    languages = CheckboxesField(_l("Languages offered to workers"), validate_choice=True)


class CannedResponseForm(BaseForm):
    language = SelectField(_l("Language"), validators=[DataRequired()])
    title = StringField(_l("Title (staff only)"), validators=[DataRequired(), Length(max=120)])
    body = TextAreaField(
        _l("Text sent to the worker"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 6},
    )
    position = IntegerField(
        _l("Order"), default=0, validators=[Optional(), NumberRange(min=0, max=9999)]
    )
    active = BooleanField(_l("Offered to caseworkers"), default=True)


class SettingsForm(BaseForm):
    retention_days = IntegerField(
        _l("Keep closed cases for (days)"),
        validators=[
            DataRequired(),
            NumberRange(min=MIN_RETENTION_DAYS, max=MAX_RETENTION_DAYS),
        ],
    )
    public_stats = BooleanField(_l("Publish the quarterly public statistics page"))

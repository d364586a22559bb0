"""The worker's forms. Every message here is shown beside its field, translated."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    MultipleFileField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput

from grievance.formbase import BaseForm, options
from grievance.i18n import lazy_gettext as _l
from grievance.intake import feedback_text, labels
from grievance.widgets import CheckboxList, RadioField, SelectField

NARRATIVE_MAX = 10_000
# The shape of an address only: one @, no spaces, a dot in the domain.
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NAME_MAX = 200


class MultiCheckboxField(SelectMultipleField):
    widget = CheckboxList()
    option_widget = CheckboxInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Unknown values are not an error: the view drops them, never
        # echoing them back.
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


class SafetyForm(BaseForm):
    danger = RadioField(
        _l("Are you in danger right now?"),
        choices=options([("yes", _l("Yes, I am in danger now")), ("no", _l("No"))]),
        validators=[InputRequired(message=_l("Please answer this question."))],
    )


class ReportForm(BaseForm):
    danger = HiddenField()
    narrative = TextAreaField(
        _l("What happened?"),
        description=_l("Write in your own language. You do not need to give your name."),
        validators=[
            DataRequired(message=_l("Please tell us what happened.")),
            Length(max=NARRATIVE_MAX, message=_l("Please write less than 10,000 characters.")),
        ],
    )
    categories = MultiCheckboxField(
        _l("What kind of problem? (choose one or more)"),
        choices=options((code, words) for code, (_, words) in labels.CATEGORY_LABELS.items()),
    )
    since = SelectField(
        _l("Since when?"), choices=options(labels.SINCE_CHOICES), validators=[Optional()]
    )
    prefecture = SelectField(
        _l("Where do you work? (prefecture)"),
        choices=options([("", _l("I don't want to say")), *labels.PREFECTURES]),
        validators=[Optional()],
    )
    industry = SelectField(
        _l("What work do you do?"),
        choices=options(labels.INDUSTRY_CHOICES),
        validators=[Optional()],
    )
    residence_status = SelectField(
        _l("Your visa (residence status)"),
        choices=options(labels.RESIDENCE_CHOICES),
        validators=[Optional()],
    )
    employer = StringField(
        _l("Company name (optional)"), validators=[Optional(), Length(max=NAME_MAX)]
    )
    organisation = StringField(
        _l("Supervising or support organisation (optional)"),
        validators=[Optional(), Length(max=NAME_MAX)],
    )
    broker = StringField(
        _l("Agency or broker (optional)"), validators=[Optional(), Length(max=NAME_MAX)]
    )
    contact_method = RadioField(
        _l("How can we contact you safely?"),
        choices=options(labels.CONTACT_CHOICES),
        default="web",
        validators=[InputRequired(message=_l("Please choose one."))],
    )
    phone = TelField(_l("Phone number"), validators=[Optional(), Length(max=32)])
    email = EmailField(
        _l("E-mail address"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(EMAIL_SHAPE, message=_l("This e-mail address is not valid.")),
        ],
    )
    safe_windows = MultiCheckboxField(
        _l("When is it safe to contact you? (leave empty for any time)"),
        choices=options(labels.SAFE_WINDOW_CHOICES),
    )
    own_phone = RadioField(
        _l("Is this phone your own?"),
        choices=options(labels.OWN_PHONE_CHOICES),
        validators=[Optional()],
    )
    attachments = MultipleFileField(
        _l("Photos or files (optional): payslips, contracts. Up to 5 files, 10 MB each.")
    )
    consent_store = BooleanField(
        _l("I agree that you keep my report safely to help me."),
        description=_l(
            "Your report is locked with encryption. Only our caseworkers can read it. "
            "We share it with a lawyer, union or office only if you say yes. "
            "You can ask us to delete it."
        ),
        validators=[DataRequired(message=_l("We need your agreement to keep your report."))],
    )
    # A field people never see: bots fill it in.
    homepage = StringField(_l("Leave this empty"), validators=[Optional()])


class ReceiptForm(BaseForm):
    reference = StringField(
        _l("Case number"),
        validators=[DataRequired(message=_l("Please enter your case number.")), Length(max=32)],
    )
    secret = StringField(
        _l("Secret code"),
        validators=[DataRequired(message=_l("Please enter your secret code.")), Length(max=32)],
    )


class ReplyForm(BaseForm):
    body = TextAreaField(
        _l("Your message"),
        validators=[
            DataRequired(message=_l("Please write a message.")),
            Length(max=NARRATIVE_MAX, message=_l("Please write less than 10,000 characters.")),
        ],
    )
    attachments = MultipleFileField(_l("Add photos or files (optional)"))


class EmptyForm(BaseForm):
    """Only the CSRF token: for buttons such as Leave."""


class SurveyForm(BaseForm):
    """The short feedback survey once a case is resolved."""

    solved = RadioField(
        feedback_text.SURVEY_SOLVED,
        choices=options(feedback_text.SURVEY_SOLVED_CHOICES),
        validators=[InputRequired(message=_l("Please answer this question."))],
    )
    felt_safe = RadioField(
        feedback_text.SURVEY_SAFE,
        choices=options(feedback_text.YES_NO_CHOICES),
        validators=[InputRequired(message=_l("Please answer this question."))],
    )
    recommend = RadioField(
        feedback_text.SURVEY_RECOMMEND,
        choices=options(feedback_text.YES_NO_CHOICES),
        validators=[InputRequired(message=_l("Please answer this question."))],
    )
    comment = TextAreaField(
        feedback_text.SURVEY_COMMENT,
        validators=[Optional(), Length(max=2000, message=_l("Please write less."))],
    )

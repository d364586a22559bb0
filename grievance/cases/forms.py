"""Forms of the case page (CSRF through Flask-WTF).

Choices that come from the database (categories, indicators, staff) are
filled in by the view; WTForms then refuses any value not among them.
"""

from __future__ import annotations

from wtforms import (
    DateField,
    HiddenField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput

from grievance.cases import labels
from grievance.cases.redflags import URGENCY_ORDER
from grievance.cases.workflow import ClosureReason
from grievance.formbase import BaseForm, options
from grievance.i18n import lazy_gettext as _l
from grievance.widgets import CheckboxList, SelectField


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes: works without JavaScript."""

    widget = CheckboxList()
    option_widget = CheckboxInput()


class TriageForm(BaseForm):
    categories = MultiCheckboxField(_l("Categories"), choices=[], validate_choice=True)
    indicators = MultiCheckboxField(_l("ILO forced-labour indicators"), choices=[])
    urgency = SelectField(
        _l("Urgency"), choices=options((u, labels.URGENCY_LABELS[u]) for u in URGENCY_ORDER)
    )
    urgency_reason = SelectField(
        _l("Reason for the urgency"),
        choices=options([("", "—"), *labels.URGENCY_REASON_LABELS.items()]),
        validators=[Optional()],
    )
    residence_status = SelectField(_l("Residence status"), choices=[], validators=[Optional()])
    sending_agency = StringField(labels.PARTY_LABELS["sending_agency"], [Length(max=200)])
    supervising_org = StringField(labels.PARTY_LABELS["supervising_org"], [Length(max=200)])
    support_org = StringField(labels.PARTY_LABELS["support_org"], [Length(max=200)])
    employer = StringField(labels.PARTY_LABELS["employer"], [Length(max=200)])
    buyer = StringField(labels.PARTY_LABELS["buyer"], [Length(max=200)])


class TransitionForm(BaseForm):
    action = HiddenField(validators=[DataRequired()])
    closure_reason = SelectField(
        _l("Why close it"),
        choices=options(
            [("", "—")] + [(r.value, labels.CLOSURE_LABELS[r.value]) for r in ClosureReason]
        ),
        validators=[Optional()],
    )


class AssignForm(BaseForm):
    # "" = unassigned; "me" = claim; otherwise a staff id (checked by the service).
    assignee = SelectField(_l("Assign to"), choices=[], validators=[Optional()])


class ReplyForm(BaseForm):
    body = TextAreaField(_l("Message to the worker"), [DataRequired(), Length(max=5000)])


class NoteForm(BaseForm):
    body = TextAreaField(_l("Internal note (staff only)"), [DataRequired(), Length(max=10000)])


class ClockForm(BaseForm):
    kind = SelectField(_l("Deadline"), choices=options(labels.CLOCK_LABELS.items()))
    event_day = DateField(
        _l("Date of the event (expiry date for a residence status)"), [DataRequired()]
    )


class EmptyForm(BaseForm):
    """Just the CSRF token, for single buttons."""

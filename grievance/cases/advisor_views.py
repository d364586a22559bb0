"""The advisor portal: a partner's staff see and answer referrals to their partner.

Every route is for advisors only, and every referral is looked up through
`referrals.referral_for_advisor`, so another partner's referral answers 404
exactly like one that does not exist. Every page view writes an audit event
(in the services); the case's fields shown are decided per request from
the worker's active consents.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from grievance.cases import consent, referrals, resolution
from grievance.extensions import commit, db
from grievance.formbase import BaseForm, options
from grievance.i18n import gettext as _
from grievance.i18n import lazy_gettext as _l
from grievance.staff.auth import require_role
from grievance.staff.forms import EmptyForm
from grievance.staff.models import Role
from grievance.staff.views import use_staff_language

bp = Blueprint("advisor", __name__, url_prefix="/advisor")
bp.before_request(use_staff_language)

MIME_SUFFIX = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


class TextForm(BaseForm):
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=referrals.MAX_TEXT)])


class DeclineForm(BaseForm):
    reason = SelectField(_l("Reason"), choices=options(referrals.DECLINE_REASONS.items()))
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=referrals.MAX_TEXT)])


class OutcomeForm(BaseForm):
    outcome = SelectField(_l("Outcome"), choices=options(resolution.OUTCOMES.items()))
    amount_yen = IntegerField(
        _l("Amount recovered (yen)"),
        validators=[Optional(), NumberRange(min=1, max=resolution.MAX_AMOUNT_YEN)],
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=referrals.MAX_TEXT)])


def _me() -> Any:
    return current_user._get_current_object()


@bp.get("/referrals", endpoint="referrals")
@require_role(Role.ADVISOR)
def referrals_list() -> Any:
    if current_user.partner_id is None:
        abort(403)
    found = referrals.advisor_referrals(_me())
    commit()
    return render_template("staff/advisor_referrals.html", referrals=found)


@bp.get("/referrals/<int:referral_id>")
@require_role(Role.ADVISOR)
def referral(referral_id: int) -> Any:
    try:
        view = referrals.advisor_view(_me(), referral_id)
    except referrals.ReferralNotFound:
        abort(404)
    commit()
    return render_template(
        "staff/advisor_referral.html",
        view=view,
        accept_form=EmptyForm(),
        decline_form=DeclineForm(formdata=None),
        update_form=TextForm(formdata=None, prefix="update"),
        question_form=TextForm(formdata=None, prefix="question"),
        outcome_form=OutcomeForm(formdata=None),
        field_label=consent.field_label,
        outcome_label=resolution.outcome_label,
    )


def _back(referral_id: int) -> Any:
    return redirect(url_for("advisor.referral", referral_id=referral_id), 303)


def _act(referral_id: int, form: BaseForm, action: Any, done: str) -> Any:
    """Validate, run the service, commit; 404 for another partner's referral."""
    try:
        referrals.referral_for_advisor(_me(), referral_id)
    except referrals.ReferralNotFound:
        abort(404)
    if not form.validate_on_submit():
        flash(_("Check the form and try again."), "error")
        return _back(referral_id)
    try:
        action()
    except referrals.ReferralNotFound:
        abort(404)
    except (referrals.ReferralError, resolution.ResolutionError) as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _back(referral_id)
    commit()
    flash(done, "info")
    return _back(referral_id)


@bp.post("/referrals/<int:referral_id>/accept")
@require_role(Role.ADVISOR)
def accept(referral_id: int) -> Any:
    return _act(
        referral_id,
        EmptyForm(),
        lambda: referrals.accept_referral(_me(), referral_id),
        _("You accepted the referral."),
    )


@bp.post("/referrals/<int:referral_id>/decline")
@require_role(Role.ADVISOR)
def decline(referral_id: int) -> Any:
    form = DeclineForm()
    return _act(
        referral_id,
        form,
        lambda: referrals.decline_referral(
            _me(), referral_id, form.reason.data or "", form.note.data or ""
        ),
        _("You declined the referral."),
    )


@bp.post("/referrals/<int:referral_id>/question")
@require_role(Role.ADVISOR)
def question(referral_id: int) -> Any:
    form = TextForm(prefix="question")
    return _act(
        referral_id,
        form,
        lambda: referrals.ask_caseworker(_me(), referral_id, form.body.data or ""),
        _("Your question was sent to the caseworker."),
    )


@bp.post("/referrals/<int:referral_id>/update")
@require_role(Role.ADVISOR)
def update(referral_id: int) -> Any:
    form = TextForm(prefix="update")
    return _act(
        referral_id,
        form,
        lambda: referrals.post_update(_me(), referral_id, form.body.data or ""),
        _("Your update was posted."),
    )


@bp.post("/referrals/<int:referral_id>/outcome")
@require_role(Role.ADVISOR)
def outcome(referral_id: int) -> Any:
    form = OutcomeForm()
    return _act(
        referral_id,
        form,
        lambda: referrals.record_referral_outcome(
            _me(),
            referral_id,
            form.outcome.data or "",
            amount_yen=form.amount_yen.data,
            note=form.note.data or "",
        ),
        _("The outcome was recorded."),
    )


@bp.get("/referrals/<int:referral_id>/attachments/<uid>")
@require_role(Role.ADVISOR)
def attachment(referral_id: int, uid: str) -> Any:
    try:
        found = referrals.advisor_attachment(_me(), referral_id, uid)
    except referrals.ReferralNotFound:
        abort(404)
    data = found.data or b""
    content_type = found.content_type
    commit()
    # A neutral file name: the worker's own name for the file may identify them.
    suffix = MIME_SUFFIX.get(content_type, "bin")
    return send_file(
        io.BytesIO(data),
        mimetype=content_type,
        as_attachment=True,
        download_name=f"attachment-{found.id}.{suffix}",
        max_age=0,
    )

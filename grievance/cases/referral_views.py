"""The caseworker's referral side of a case: consent, referral, check-ins,
resolution and escalation.

The case page includes `staff/case_referrals.html`, which asks
`case_referral_panel(case, parts)` (a template global registered here,
wrapping `referral_panel`) for its data; the case view passes only `parts`,
which says which of the case's lists are empty.
The actions are POST routes under /staff/cases/<reference>/...; each
authorises the caseworker, calls one service, commits and returns to the
case page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from markupsafe import Markup
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from grievance import i18n, reference_cache
from grievance.cases import consent, escalation, partners, queries, referrals, resolution, routing
from grievance.cases.models import Case, Consent, Referral
from grievance.cases.referral_models import ConsentRequest, Escalation
from grievance.cases.services import normalise_code
from grievance.extensions import commit, db
from grievance.formbase import BaseForm, options
from grievance.i18n import gettext as _
from grievance.i18n import lazy_gettext as _l
from grievance.staff.auth import require_role
from grievance.staff.forms import EmptyForm
from grievance.staff.models import Role
from grievance.staff.views import use_staff_language

bp = Blueprint("referral_actions", __name__)


def partner_reminder_task() -> int:
    """The periodic task: one reminder per partner answer that is late."""
    count = referrals.remind_overdue_partners()
    commit()
    return count


@bp.record_once
def _register_periodic(state: BlueprintSetupState) -> None:
    # Runs with the other periodic work (the RQ worker in production,
    # `flask grievance tick` in the embedded default).
    state.app.extensions.setdefault("grievance.periodic", {})["partner_reminders"] = (
        partner_reminder_task
    )


bp.before_request(use_staff_language)

CASE_STAFF = (Role.ADMIN, Role.CASEWORKER)


# -- forms ------------------------------------------------------------------------


class ConsentForm(BaseForm):
    scope = SelectField(_l("Consent"), choices=options((s, s) for s in consent.SHARING_SCOPES))
    partner_id = IntegerField(_l("Partner"), validators=[Optional()])


class ReferForm(BaseForm):
    partner_id = IntegerField(_l("Partner"), validators=[DataRequired()])
    fields = SelectMultipleField(_l("Share"), choices=options((f, f) for f in consent.FIELDS))
    acknowledge_exposure = BooleanField(
        _l("The worker knows this body may pass information to immigration")
    )


class MessageForm(BaseForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=referrals.MAX_TEXT)])


class CheckInForm(BaseForm):
    send_message = BooleanField(_l("Send the check-in message to the worker"))


class ResolveForm(BaseForm):
    outcome = SelectField(_l("Outcome"), choices=options(resolution.OUTCOMES.items()))
    amount_yen = IntegerField(
        _l("Amount recovered (yen)"),
        validators=[Optional(), NumberRange(min=1, max=resolution.MAX_AMOUNT_YEN)],
    )
    summary = TextAreaField(_l("Summary"), validators=[Length(max=resolution.MAX_SUMMARY)])
    by_dialogue = SelectField(
        _l("Resolved through dialogue?"),
        choices=options([("", _l("Not known")), ("yes", _l("Yes")), ("no", _l("No"))]),
    )
    gag_clause = BooleanField(_l("The settlement has a confidentiality (gag) clause"))


class EscalationForm(BaseForm):
    platform = SelectField(_l("Platform"), choices=options(escalation.PLATFORMS.items()))
    company = StringField(
        _l("Member company"), validators=[DataRequired(), Length(max=escalation.MAX_TEXT)]
    )
    summary = TextAreaField(_l("What is filed"), validators=[Length(max=escalation.MAX_TEXT)])


class EscalationStatusForm(BaseForm):
    status = SelectField(_l("New status"), choices=options(escalation.STATUS_LABELS.items()))
    external_ref = StringField(_l("Platform's number"), validators=[Length(max=64)])
    note = TextAreaField(_l("Note"), validators=[Length(max=escalation.MAX_TEXT)])


# -- labels for the templates -------------------------------------------------------


def reason_text(item: routing.Explained) -> str:
    """A routing reason as a sentence for the caseworker."""
    about = ", ".join(item.about)
    code = item.code
    if code == routing.Reason.CATEGORY:
        return _("Handles %(codes)s", codes=about)
    if code == routing.Reason.REFERRAL_TYPE:
        return _("Usual kind of body for %(codes)s", codes=about)
    if code == routing.Reason.SAME_PREFECTURE:
        return _("In the worker's prefecture")
    if code == routing.Reason.SAME_REGION:
        return _("Serves the worker's region")
    if code == routing.Reason.NATIONAL:
        return _("Serves all of Japan")
    if code == routing.Reason.LANGUAGE:
        return _("Speaks the worker's language (%(language)s)", language=about)
    if code == routing.Reason.INTERPRETERS:
        return _("Works with interpreters for many languages")
    if code == routing.Reason.ELIGIBLE:
        return _("Accepts workers with this residence status (%(status)s)", status=about)
    if code == routing.Reason.ANONYMOUS_OK:
        return _("Accepts anonymous referrals")
    return code


def caution_text(item: routing.Explained) -> str:
    """A routing warning as a sentence for the caseworker."""
    about = ", ".join(item.about)
    code = item.code
    if code == routing.Caution.IMMIGRATION_EXPOSURE:
        return _(
            "Warning: this body may pass information to immigration enforcement. Refer only"
            " with the worker's informed consent."
        )
    if code == routing.Caution.UNDOCUMENTED_WORKER:
        return _("The worker has no valid residence status: referral here may lead to detention.")
    if code == routing.Caution.NO_SHARED_LANGUAGE:
        return _(
            "Does not list the worker's language (%(language)s): an interpreter is needed.",
            language=about,
        )
    if code == routing.Caution.ELIGIBILITY_UNKNOWN:
        return _(
            "Accepts only some residence statuses (%(codes)s); the worker's is not known yet.",
            codes=about,
        )
    if code == routing.Caution.PLACE_UNKNOWN:
        return _("The worker's prefecture is not known; this office may not cover it.")
    if code == routing.Caution.NAMED_ONLY:
        return _("Does not take anonymous referrals: identity consent is needed.")
    if code == routing.Caution.WORKER_CHOICE:
        return _("An embassy: refer only if the worker asks for it.")
    if code == routing.Caution.ALREADY_REFERRED:
        return _("The case is already referred here.")
    if code == routing.Caution.FICTIONAL:
        return _("Demo entry: not a real organisation.")
    return code


LABELS = SimpleNamespace(
    referral_status=referrals.status_label,
    decline=referrals.decline_label,
    update=referrals.update_label,
    due=referrals.due_label,
    scope=consent.scope_label,
    method=consent.method_label,
    field=consent.field_label,
    outcome=resolution.outcome_label,
    platform=escalation.platform_label,
    escalation_status=escalation.status_label,
    kind=lambda code: str(partners.KIND_LABELS.get(code, code)),
    reason=reason_text,
    caution=caution_text,
)


# -- the case-page panel --------------------------------------------------------------


@dataclass
class SuggestionRow:
    suggestion: routing.Suggestion
    allowed_fields: frozenset[str]

    @property
    def partner(self) -> routing.PartnerProfile:
        return self.suggestion.partner

    @property
    def exposed(self) -> bool:
        return self.suggestion.has_warning(routing.Caution.IMMIGRATION_EXPOSURE)


@dataclass
class ReferralRow:
    referral: Referral
    visible: tuple[str, ...]
    awaiting_answer: bool


@dataclass(frozen=True)
class ReferralMenus:
    """The panel's consent-scope and partner menus (their options), which
    depend only on the page's language and the partner directory."""

    scopes: Markup
    partners: Markup
    # With a warning beside each partner that may inform immigration.
    partners_warned: Markup


def referral_menus() -> ReferralMenus:
    """Drawn once per language and kept by `grievance.reference_cache` with
    the directory they list (a change to a partner forgets both), as the
    queue keeps its filter menus: three menus, some 50 options a page."""

    def draw(menu: str, warn: bool = False) -> Markup:
        # An autoescaped template's output: already safe HTML.
        return Markup(  # noqa: S704
            render_template(
                "staff/referral_menus.html",
                menu=menu,
                warn=warn,
                scopes=consent.SHARING_SCOPES,
                partners=partners.active_directory(),
                L=LABELS,
            )
        )

    return reference_cache.cached(
        ("referral-menus", i18n.current_language().code),
        lambda: ReferralMenus(draw("scopes"), draw("partners"), draw("partners", warn=True)),
    )


@dataclass
class Panel:
    case: Case
    suggestions: list[SuggestionRow]
    consents: list[Consent]
    question: ConsentRequest | None
    referrals: list[ReferralRow]
    # Each escalation with the statuses it may move to next.
    escalations: list[tuple[Escalation, list[str]]]
    due: list[referrals.DueItem]
    check_in_due: datetime | None
    can_resolve: bool
    can_close: bool
    scopes: tuple[str, ...] = consent.SHARING_SCOPES
    fields: tuple[str, ...] = consent.FIELDS
    # Each field's label, translated once for the panel's checkbox lists.
    field_labels: dict[str, str] = field(
        default_factory=lambda: {name: consent.field_label(name) for name in consent.FIELDS}
    )
    outcomes: dict[str, Any] = field(default_factory=lambda: resolution.OUTCOMES)
    platforms: dict[str, Any] = field(default_factory=lambda: escalation.PLATFORMS)
    menus: ReferralMenus = field(default_factory=referral_menus)
    _share_boxes: dict[frozenset[str], Markup] = field(default_factory=dict)

    def share_boxes(
        self, allowed: frozenset[str] | None, draw: Callable[[frozenset[str]], Markup]
    ) -> Markup:
        """A refer form's "Share" checkboxes, those outside `allowed` (what
        the worker's consent covers; None: every field) disabled. The
        template's macro `draw` makes them once per distinct set on the
        page: the eight suggested partners mostly share one."""
        key = frozenset(self.fields) if allowed is None else allowed
        boxes = self._share_boxes.get(key)
        if boxes is None:
            boxes = self._share_boxes[key] = draw(key)
        return boxes


def referral_panel(case: Case, parts: queries.CaseParts) -> Panel:
    """Everything `staff/case_referrals.html` shows, computed for this case now.

    `parts` (from `queries.case_with_parts`) says which lists are empty: those
    are not asked for.
    """
    suggestions = [
        SuggestionRow(s, consent.covered_fields(case, s.partner))
        for s in referrals.suggestions(case, parts.categories)
    ]
    rows = []
    for referral in case.referrals:
        last = next(
            (u for u in reversed(referral.updates) if u.kind in ("question", "answer")), None
        )
        rows.append(
            ReferralRow(
                referral,
                referrals.visible_fields(referral),
                awaiting_answer=last is not None and last.kind == "question",
            )
        )
    check_in = next(
        (c for c in case.clocks if c.kind == referrals.CHECK_IN and c.done_at is None), None
    )
    return Panel(
        case=case,
        suggestions=suggestions,
        consents=sorted(
            (c for c in case.consents if c.scope in consent.SHARING_SCOPES), key=lambda c: -c.id
        ),
        question=consent.open_request(case) if parts.open_questions else None,
        referrals=rows,
        escalations=[(e, escalation.next_statuses(e)) for e in escalation.escalations_for(case)]
        if parts.escalations
        else [],
        # Without a referral or an open check-in nothing can be due: skip
        # the three queries (most cases on the page have neither).
        due=referrals.due_items(case_ids=[case.id])
        if case.referrals or check_in is not None
        else [],
        check_in_due=check_in.due_at if check_in else None,
        can_resolve=case.status in ("acknowledged", "in_progress", "referred"),
        can_close=case.status == "resolved",
    )


def referral_due_items(within_days: int = 2) -> list[referrals.DueItem]:
    """For the queue: `{% with items = referral_due_items() %}{% include
    "staff/referral_due_table.html" %}{% endwith %}`."""
    return referrals.due_items(within=timedelta(days=within_days))


bp.add_app_template_global(referral_panel, "case_referral_panel")
bp.add_app_template_global(referral_due_items, "referral_due_items")
bp.add_app_template_global(LABELS, "referral_labels")
bp.add_app_template_global(referrals.status_label, "referral_status_label")
bp.add_app_template_global(referrals.decline_label, "referral_decline_label")
bp.add_app_template_global(referrals.update_label, "referral_update_label")
bp.add_app_template_global(consent.scope_label, "consent_scope_label")


# -- actions ------------------------------------------------------------------------


def _case_or_404(reference: str) -> Case:
    case = queries.case_by_reference(normalise_code(reference))
    if case is None:
        abort(404)
    return case


def _to_case(case: Case) -> Any:
    return redirect(url_for("cases.case_detail", reference=case.reference) + "#referrals", 303)


ERRORS = (
    consent.ConsentError,
    referrals.ReferralError,
    resolution.ResolutionError,
    escalation.EscalationError,
)


def _act(reference: str, form: BaseForm, action: Callable[[Case], Any], done: Any) -> Any:
    """Validate the form, run one service on the case, commit, back to the case page."""
    case = _case_or_404(reference)
    if not form.validate_on_submit():
        flash(_("Check the form and try again."), "error")
        return _to_case(case)
    try:
        action(case)
    except ERRORS as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _to_case(case)
    commit()
    flash(str(done), "info")
    return _to_case(case)


def _me() -> Any:
    return current_user._get_current_object()


@bp.post("/staff/cases/<reference>/consents")
@require_role(*CASE_STAFF)
def record_consent(reference: str) -> Any:
    form = ConsentForm()
    return _act(
        reference,
        form,
        lambda case: consent.record_consent(
            _me(),
            case,
            form.scope.data or "",
            method=consent.Method.SPOKEN,
            partner_id=form.partner_id.data,
        ),
        _l("Consent recorded."),
    )


@bp.post("/staff/cases/<reference>/consents/ask")
@require_role(*CASE_STAFF)
def ask_consent(reference: str) -> Any:
    form = ConsentForm()
    return _act(
        reference,
        form,
        lambda case: consent.ask_consent(
            _me(), case, form.scope.data or "", partner_id=form.partner_id.data
        ),
        _l("The question was sent to the worker."),
    )


@bp.post("/staff/cases/<reference>/consents/<int:consent_id>/withdraw")
@require_role(*CASE_STAFF)
def withdraw_consent(reference: str, consent_id: int) -> Any:
    return _act(
        reference,
        EmptyForm(),
        lambda case: consent.withdraw_consent(
            _me(), case, consent_id, method=consent.Method.SPOKEN
        ),
        _l("Consent withdrawn. The partner no longer sees what it covered."),
    )


@bp.post("/staff/cases/<reference>/referrals")
@require_role(*CASE_STAFF)
def refer(reference: str) -> Any:
    form = ReferForm()
    return _act(
        reference,
        form,
        lambda case: referrals.create_referral(
            _me(),
            case,
            form.partner_id.data or 0,
            list(form.fields.data or []),
            acknowledge_exposure=bool(form.acknowledge_exposure.data),
        ),
        _l("Referral sent. The partner was notified."),
    )


def _referral_of(case: Case, referral_id: int) -> Referral:
    referral = next((r for r in case.referrals if r.id == referral_id), None)
    if referral is None:
        abort(404)
    return referral


@bp.post("/staff/cases/<reference>/referrals/<int:referral_id>/withdraw")
@require_role(*CASE_STAFF)
def withdraw_referral(reference: str, referral_id: int) -> Any:
    return _act(
        reference,
        EmptyForm(),
        lambda case: referrals.withdraw_referral(_me(), _referral_of(case, referral_id)),
        _l("Referral withdrawn."),
    )


@bp.post("/staff/cases/<reference>/referrals/<int:referral_id>/message")
@require_role(*CASE_STAFF)
def message_advisor(reference: str, referral_id: int) -> Any:
    form = MessageForm(prefix=f"r{referral_id}")
    return _act(
        reference,
        form,
        lambda case: referrals.answer_advisor(
            _me(), _referral_of(case, referral_id), form.body.data or ""
        ),
        _l("Message sent to the advisor."),
    )


@bp.post("/staff/cases/<reference>/check-in")
@require_role(*CASE_STAFF)
def check_in(reference: str) -> Any:
    form = CheckInForm()
    return _act(
        reference,
        form,
        lambda case: referrals.record_check_in(
            _me(), case, send_message=bool(form.send_message.data)
        ),
        _l("Check-in recorded. The next one is due in 14 days."),
    )


@bp.post("/staff/cases/<reference>/resolve")
@require_role(*CASE_STAFF)
def resolve(reference: str) -> Any:
    form = ResolveForm()
    dialogue = {"yes": True, "no": False}.get(form.by_dialogue.data or "")
    return _act(
        reference,
        form,
        lambda case: resolution.resolve_case(
            _me(),
            case,
            form.outcome.data or "",
            amount_yen=form.amount_yen.data,
            summary=form.summary.data or "",
            by_dialogue=dialogue,
            gag_clause=bool(form.gag_clause.data),
        ),
        _l("Case resolved. The worker was told and asked for feedback."),
    )


@bp.post("/staff/cases/<reference>/close-resolved")
@require_role(*CASE_STAFF)
def close_resolved(reference: str) -> Any:
    def close(case: Case) -> None:
        if not resolution.close_case(_me(), case):
            raise resolution.ResolutionError(_l("Only a resolved case can be closed here."))

    return _act(reference, EmptyForm(), close, _l("Case closed."))


@bp.post("/staff/cases/<reference>/escalations")
@require_role(*CASE_STAFF)
def escalate(reference: str) -> Any:
    form = EscalationForm()
    return _act(
        reference,
        form,
        lambda case: escalation.create_escalation(
            _me(),
            case,
            form.platform.data or "",
            company=form.company.data or "",
            summary=form.summary.data or "",
        ),
        _l("Escalation prepared."),
    )


@bp.post("/staff/cases/<reference>/escalations/<int:escalation_id>")
@require_role(*CASE_STAFF)
def escalation_status(reference: str, escalation_id: int) -> Any:
    form = EscalationStatusForm(prefix=f"e{escalation_id}")

    def change(case: Case) -> None:
        found = escalation.escalation_for_case(case, escalation_id)
        if found is None:
            abort(404)
        escalation.update_escalation(
            _me(),
            found,
            form.status.data or "",
            external_ref=form.external_ref.data,
            note=form.note.data or "",
        )

    return _act(reference, form, change, _l("Escalation updated."))


@bp.get("/staff/referrals/due")
@require_role(*CASE_STAFF)
def due() -> Any:
    """Referral follow-ups due now and in the next two days, overdue first."""
    return render_template("staff/referral_due.html", items=referral_due_items())

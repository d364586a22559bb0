"""Caseworker pages: the queue, the workload view, the case page and its actions.

Thin views: parse, authorise, call one service, commit, redirect or render.
Every route needs a caseworker or admin session (`require_role`); every
case action finds the case by its reference first and 404s when there is
none. Actions answer with a redirect back to the case page (POST, redirect,
GET), so a reload never repeats an action, and every GET of the case page
is an audit event.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from grievance import i18n, reference_cache
from grievance.cases import (
    audit,
    casework,
    menus,
    messaging,
    queries,
    queue_display,
    timeline,
    triage,
)
from grievance.cases import queue as work_queue
from grievance.cases.contact import ContactWishes
from grievance.cases.forms import (
    AssignForm,
    ClockForm,
    EmptyForm,
    NoteForm,
    ReplyForm,
    TransitionForm,
    TriageForm,
)
from grievance.cases.labels import (
    TEMPLATE_GLOBALS,
    channel_label,
)
from grievance.cases.models import (
    Attachment,
    Case,
    CaseClock,
)
from grievance.cases.redflags import scan
from grievance.cases.reminders import reminder_task
from grievance.cases.services import format_code, normalise_code
from grievance.cases.workflow import (
    ACTION_LABELS,
    Action,
    IllegalTransitionError,
    allowed_actions,
)
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.formbase import options
from grievance.i18n import gettext as _
from grievance.staff.auth import require_role
from grievance.staff.models import Role
from grievance.staff.views import use_staff_language

bp = Blueprint("cases", __name__)
bp.before_request(use_staff_language)
for _name, _fn in TEMPLATE_GLOBALS.items():
    bp.add_app_template_global(_fn, _name)
bp.add_app_template_global(format_code, "format_reference")
bp.add_app_template_global(lambda code: str(ACTION_LABELS.get(code, code)), "action_label")

CASE_STAFF = (Role.ADMIN, Role.CASEWORKER)


@bp.record_once
def _register_periodic(state: BlueprintSetupState) -> None:
    # Reminders run with the other periodic work: every minute from the RQ
    # worker in production, from `flask grievance tick` in the embedded default.
    state.app.extensions.setdefault("grievance.periodic", {})["reminders"] = reminder_task


# Files a browser may show inline are still sent as downloads; anything
# else is plain bytes, so a crafted file cannot run as a page of ours.
SAFE_TYPES = ("image/jpeg", "image/png", "application/pdf")


# -- queue and workload ----------------------------------------------------------


@bp.get("/staff/queue")
@require_role(*CASE_STAFF)
def queue() -> Any:
    lookup = (request.args.get("ref") or "").strip()
    if lookup:
        found = work_queue.find_reference(normalise_code(lookup))
        if found is None:
            flash(_("No case has this reference."), "error")
            return redirect(url_for("cases.queue"))
        return redirect(url_for("cases.case_detail", reference=format_code(found)))
    categories = work_queue.category_codes()
    filters = work_queue.QueueFilters.from_args(request.args, {code for code, _n in categories})
    after = None
    if request.args.get("after"):
        try:
            after = work_queue.Cursor.decode(request.args["after"])
        except work_queue.BadCursor:
            abort(400)
    now = utcnow()
    page = work_queue.queue_page(filters, me_id=current_user.id, after=after, now=now)
    # The menus (some 130 options) depend only on the filters, the language
    # and the reference lists: rendered once, then reused like those lists.
    filter_menus = reference_cache.cached(
        ("queue-filters", i18n.current_language().code, filters),
        # An autoescaped template's output: already safe HTML.
        lambda: Markup(  # noqa: S704
            render_template(
                "staff/queue_filters.html",
                filters=filters,
                options=queue_display.filter_options(filters, categories),
            )
        ),
    )
    return render_template(
        "staff/queue.html",
        page=page,
        rows_html=queue_display.rows_html(page.rows, now),
        filters=filters,
        first_page=after is not None,
        filter_menus=filter_menus,
        # Above the first page only: one small index read.
        after_closing=work_queue.written_after_closing() if after is None else [],
    )


@bp.get("/staff/workload")
@require_role(*CASE_STAFF)
def workload() -> Any:
    return render_template("staff/workload.html", lines=work_queue.workload())


# -- the case page -----------------------------------------------------------------


def _case_or_404(reference: str) -> Case:
    case = queries.case_by_reference(normalise_code(reference))
    if case is None:
        abort(404)
    return case


def _back(case: Case, anchor: str = "") -> Response:
    target = url_for("cases.case_detail", reference=format_code(case.reference))
    return redirect(target + (f"#{anchor}" if anchor else ""), 303)


def _triage_form(case: Case) -> TriageForm:
    # Menus from the reference cache (plain codes and names); saving the
    # triage loads the categories and indicators it records.
    japanese = i18n.current_language().code == "ja"
    form = TriageForm(prefix="triage")
    form.categories.choices = options(
        (code, f"{code} · {text}") for code, text in work_queue.category_codes()
    )
    form.indicators.choices = menus.indicator_choices()
    form.residence_status.choices = menus.status_choices(japanese)
    return form


def _fill_triage(
    form: TriageForm,
    case: Case,
    parts: queries.CaseParts,
    suggested_indicators: list[str],
    parties: dict[str, str],
) -> None:
    form.categories.data = list(parts.categories)
    # No indicators chosen yet: start from the ones the categories suggest.
    form.indicators.data = list(parts.indicators) or suggested_indicators
    form.urgency.data = case.urgency
    form.urgency_reason.data = ""
    form.residence_status.data = case.residence_status or ""
    for role, name in parties.items():
        getattr(form, role).data = name


def _assign_form() -> AssignForm:
    form = AssignForm(prefix="assign")
    form.assignee.choices = options(
        [("", _("Nobody (back to the queue)"))]
        + [(str(staff_id), label) for staff_id, label in work_queue.assignable_labels()]
    )
    return form


@bp.get("/staff/cases/<reference>")
@require_role(*CASE_STAFF)
def case_detail(reference: str) -> Any:
    found = queries.case_with_parts(normalise_code(reference))
    if found is None:
        abort(404)
    case, parts = found
    actor = current_user._get_current_object()

    flags = scan(case.narrative)
    suggested_indicators = triage.suggest_indicators(parts.categories)
    triage_form = _triage_form(case)
    parties = triage.parties_of(case)  # decrypted once, for the form and the page
    _fill_triage(triage_form, case, parts, suggested_indicators, parties)
    assign_form = _assign_form()
    assign_form.assignee.data = str(case.assignee_id) if case.assignee_id else ""
    reply_form = ReplyForm(prefix="reply")
    canned = menus.canned_replies(case.language)
    chosen = request.args.get("canned", type=int)
    if chosen is not None:
        picked = next((c for c in canned if c.id == chosen), None)
        if picked is not None:
            reply_form.body.data = picked.body
    actions = allowed_actions(case.status, actor_role=actor.role, review_state=case.review_state)
    thread = casework.thread(case, parts.messages, before=request.args.get("before", type=int))
    # Resolving needs a coded outcome: the referral panel's resolution form
    # (grievance.cases.referral_views) does it, not a bare button.
    actions = [a for a in actions if a != Action.RESOLVE]
    page = render_template(
        "staff/case.html",
        case=case,
        reference=format_code(case.reference),
        now=utcnow(),
        flags=flags,
        suggested_indicators=suggested_indicators,
        suggested_urgency=triage.suggest_urgency(parts.categories, flags),
        parties=parties,
        wishes=ContactWishes.from_json(case.contact),
        contact_state=messaging.contact_state(case, outbound=parts.outbound),
        language=i18n.BY_CODE.get(case.language),
        thread=thread,
        # Each channel's name made once, not once a message.
        channel_names={code: channel_label(code) for code in {m.channel for m in thread.messages}},
        staff_names=work_queue.staff_labels(
            {m.author_staff_id for m in thread.messages if m.author_staff_id}
            | ({case.assignee_id} if case.assignee_id else set())
        ),
        events=timeline.timeline(case.id, include_views=request.args.get("views") == "1"),
        views=parts.views + 1,  # this view, recorded below
        show_views=request.args.get("views") == "1",
        actions=actions,
        triage_form=triage_form,
        assign_form=assign_form,
        transition_form=TransitionForm(prefix="move"),
        reply_form=reply_form,
        note_form=NoteForm(prefix="note"),
        clock_form=ClockForm(prefix="clock"),
        button_form=EmptyForm(),
        canned=canned,
        parts=parts,
    )
    # The view is recorded once the page is made, and committed before it is
    # sent: no page leaves without its audit event. Written last, the event
    # holds the audit chain's lock (a row lock on PostgreSQL, the write lock
    # on SQLite) only for its own three statements, as when it was written
    # first, and the request is one transaction instead of two (on
    # PostgreSQL three round trips fewer: a second connection check, BEGIN
    # and the closing ROLLBACK).
    casework.view_case(actor, case)
    commit()
    return page


def _form_errors(form: Any) -> None:
    for field_errors in form.errors.values():
        for error in field_errors:
            flash(str(error), "error")


def _act(case: Case, work: Callable[[], object], done: str, anchor: str = "") -> Response:
    """Run one service, commit, and say how it went."""
    try:
        work()
    except (casework.CaseworkError, triage.TriageError, IllegalTransitionError) as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _back(case, anchor)
    except messaging.MessagingError:
        db.session.rollback()
        flash(_("The message could not be written."), "error")
        return _back(case, anchor)
    commit()
    flash(done, "success")
    return _back(case, anchor)


@bp.post("/staff/cases/<reference>/triage")
@require_role(*CASE_STAFF)
def triage_post(reference: str) -> Any:
    case = _case_or_404(reference)
    form = _triage_form(case)
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(case, "triage")
    data = triage.TriageInput(
        categories=form.categories.data or [],
        indicators=form.indicators.data or [],
        urgency=form.urgency.data or case.urgency,
        urgency_reason=form.urgency_reason.data or None,
        residence_status=form.residence_status.data or None,
        parties={role: getattr(form, role).data or "" for role in triage.PARTY_ROLES},
    )
    actor = current_user._get_current_object()
    return _act(case, lambda: triage.triage_case(actor, case, data), _("Triage saved."), "triage")


@bp.post("/staff/cases/<reference>/transition")
@require_role(*CASE_STAFF)
def transition(reference: str) -> Any:
    case = _case_or_404(reference)
    form = TransitionForm(prefix="move")
    if not form.validate_on_submit():
        abort(400)
    actor = current_user._get_current_object()
    action = form.action.data or ""
    reason = form.closure_reason.data or None

    def work() -> object:
        decision = casework.transition_case(actor, case, action, reason)
        if decision.needs_review:
            flash(_("Closure requested: an admin must review it first."), "info")
        return decision

    return _act(case, work, _("Status updated."), "status")


@bp.post("/staff/cases/<reference>/assign")
@require_role(*CASE_STAFF)
def assign(reference: str) -> Any:
    case = _case_or_404(reference)
    actor = current_user._get_current_object()
    if request.form.get("claim") == "1":
        if not EmptyForm().validate_on_submit():
            abort(400)
        return _act(case, lambda: casework.claim_case(actor, case), _("You took the case."))
    form = _assign_form()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(case)
    value = form.assignee.data or ""
    assignee_id = int(value) if value.isdigit() else None
    return _act(
        case, lambda: casework.assign_case(actor, case, assignee_id), _("Assignment saved.")
    )


@bp.post("/staff/cases/<reference>/reply")
@require_role(*CASE_STAFF)
def reply(reference: str) -> Any:
    case = _case_or_404(reference)
    form = ReplyForm(prefix="reply")
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(case, "reply")
    actor = current_user._get_current_object()
    body = form.body.data or ""
    return _act(
        case,
        lambda: casework.reply_to_worker(actor, case, body),
        _("Message written to the worker."),
        "thread",
    )


@bp.post("/staff/cases/<reference>/notes")
@require_role(*CASE_STAFF)
def note(reference: str) -> Any:
    case = _case_or_404(reference)
    form = NoteForm(prefix="note")
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(case, "thread")
    actor = current_user._get_current_object()
    body = form.body.data or ""
    return _act(case, lambda: casework.add_note(actor, case, body), _("Note saved."), "thread")


@bp.post("/staff/cases/<reference>/clocks")
@require_role(*CASE_STAFF)
def add_clock(reference: str) -> Any:
    case = _case_or_404(reference)
    form = ClockForm(prefix="clock")
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(case, "clocks")
    actor = current_user._get_current_object()
    kind, day = form.kind.data or "", form.event_day.data
    return _act(
        case, lambda: triage.add_clock(actor, case, kind, day), _("Deadline added."), "clocks"
    )


@bp.post("/staff/cases/<reference>/clocks/<int:clock_id>/done")
@require_role(*CASE_STAFF)
def clock_done(reference: str, clock_id: int) -> Any:
    case = _case_or_404(reference)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if db.session.get(CaseClock, clock_id) is None:
        abort(404)
    actor = current_user._get_current_object()
    return _act(
        case,
        lambda: triage.complete_clock(actor, case, clock_id),
        _("Deadline marked as done."),
        "clocks",
    )


@bp.get("/staff/cases/<reference>/attachments/<int:attachment_id>")
@require_role(*CASE_STAFF)
def attachment(reference: str, attachment_id: int) -> Any:
    """The decrypted file, as a download that no browser or proxy keeps."""
    case = _case_or_404(reference)
    item = db.session.get(Attachment, attachment_id)
    # The attachment must belong to this case: ids are guessable.
    if item is None or item.case_id != case.id:
        abort(404)
    data = item.data or b""
    audit.record(
        "attachment.downloaded",
        case_id=case.id,
        actor_id=current_user.id,
        detail={"attachment_id": item.id},
    )
    commit()
    mimetype = item.content_type if item.content_type in SAFE_TYPES else "application/octet-stream"
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        mimetype, "bin"
    )
    # A neutral name: the worker's file name stays on the case page only.
    response = send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"attachment-{item.id}.{extension}",
        max_age=0,
        etag=False,
        last_modified=None,
        conditional=False,
    )
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Pragma"] = "no-cache"
    return response

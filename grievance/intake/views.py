"""Worker-facing pages: language chooser, report form, receipt, follow-up.

No page puts anything about a case in its URL: the receipt travels only in
POST bodies, and the follow-up page keeps the case in a short signed
session. Every page works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from sqlalchemy import select, text

from grievance import crypto, i18n, quick_forms, ratelimit, short_writes
from grievance.cases import consent, resolution
from grievance.cases.models import VIEW_EVENTS_SQL, CaseEvent, Message
from grievance.extensions import commit, db
from grievance.i18n import gettext as _
from grievance.intake import feedback_text, follow_up, held, kept_files, labels, web
from grievance.intake.forms import (
    EmptyForm,
    ReceiptForm,
    ReplyForm,
    ReportForm,
    SafetyForm,
    SurveyForm,
)
from grievance.intake.receipt_page import receipt_page
from grievance.intake.uploads import CleanFile, UploadError, clean_uploads

bp = Blueprint("intake", __name__)


@bp.record_once
def _register_periodic(state: Any) -> None:
    # Files kept for a form that came back are deleted after an hour.
    state.app.extensions.setdefault("grievance.periodic", {})["kept_files"] = (
        kept_files.purge_expired
    )


REPORTS_PER_HOUR = 20
KEEPS_PER_HOUR = 20  # forms sent back with files kept, per client


@bp.url_value_preprocessor
def _pull_language(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values is None or "lang" not in values:
        return
    code = values.pop("lang")
    lang = i18n.lookup(code)
    if lang is None:
        # An unknown code never reaches Babel: a plain, translated 404.
        abort(404)
    if lang.code != code:
        g.redirect_to_canonical = lang.code
    i18n.set_language(lang.code)


@bp.url_defaults
def _add_language(endpoint: str, values: dict[str, Any]) -> None:
    if "lang" in values or not g.get("ui_language"):
        return
    if endpoint and endpoint.startswith("intake.") and endpoint != "intake.choose_language":
        values["lang"] = i18n.current_language().code


@bp.before_request
def _worker_domain() -> Any:
    i18n.worker_domain.as_default()
    canonical = g.pop("redirect_to_canonical", None)
    if canonical:
        return redirect(url_for("intake.home", lang=canonical), 301)
    return None


@bp.get("/")
def choose_language() -> Any:
    """Every language by its own name; the browser's language is suggested first."""
    codes = [lang.code for lang in i18n.LANGUAGES]
    suggested = i18n.negotiate(codes, i18n.DEFAULT_WORKER_LANGUAGE)
    i18n.set_language(suggested)
    return render_template(
        "worker/choose_language.html",
        languages=i18n.LANGUAGES,
        suggested=i18n.BY_CODE[suggested],
    )


@bp.get("/<lang>/", strict_slashes=False)
def home() -> Any:
    return render_template("worker/home.html")


# -- the report ------------------------------------------------------------------


def _render_form(form: ReportForm, status: int = 200, upload_error: str | None = None) -> Any:
    return (
        render_template(
            "worker/report.html",
            form=form,
            in_danger=form.danger.data == "yes",
            category_icons={code: icon for code, (icon, _w) in labels.CATEGORY_LABELS.items()},
            upload_error=upload_error,
            kept=kept_files.listed(),
        ),
        status,
    )


def _contact_errors(form: ReportForm) -> str | None:
    """Check the contact details the chosen method needs; return the phone in E.164."""
    method = form.contact_method.data
    if method in ("sms", "whatsapp"):
        if not form.phone.data:
            form.phone.errors.append(_("Please write your phone number, or choose another way."))
            return None
        try:
            return crypto.normalise_phone(form.phone.data)
        except crypto.InvalidPhoneNumberError:
            form.phone.errors.append(_("This phone number is not valid."))
            return None
    if method == "email" and not form.email.data:
        form.email.errors.append(_("Please write your e-mail address, or choose another way."))
    return None


def _web_report(
    data: Mapping[str, Any], phone: str | None, files: list[CleanFile]
) -> web.WebReport:
    """The report as the worker sent it, from a valid form's data."""
    return web.WebReport(
        language=i18n.current_language().code,
        narrative=data["narrative"] or "",
        in_danger=data["danger"] == "yes",
        # Unknown values are dropped, never stored.
        categories=[c for c in data["categories"] or [] if c in labels.CATEGORY_LABELS],
        since=data["since"] or None,
        prefecture=data["prefecture"] if data["prefecture"] in labels.PREFECTURE_CODES else None,
        industry=data["industry"] or None,
        residence_status=data["residence_status"] or None,
        employer=data["employer"] or "",
        organisation=data["organisation"] or "",
        broker=data["broker"] or "",
        contact_method=data["contact_method"],
        phone=phone,
        email=data["email"] or None,
        safe_windows=[w for w in data["safe_windows"] or [] if w in labels.SAFE_WINDOW_VALUES],
        own_phone=data["own_phone"] or None,
        files=files,
    )


@bp.route("/<lang>/report", methods=["GET", "POST"])
def report() -> Any:
    if request.method == "GET":
        return render_template("worker/report_safety.html", form=SafetyForm())
    if "narrative" not in request.form:
        # Step one answered: show the form, with emergency help at the top if needed.
        safety = SafetyForm()
        if not safety.validate_on_submit():
            return render_template("worker/report_safety.html", form=safety), 400
        # A new report: nothing is kept from one left unfinished.
        kept_files.forget()
        commit()
        form = ReportForm(formdata=None, danger=safety.danger.data)
        return _render_form(form)
    quick = _quick_report()
    if quick is None:
        return _report_by_form()
    data, phone = quick
    return _file_report(data, phone, files=[], kept=0)


def _quick_report() -> tuple[dict[str, Any], str | None] | None:
    """A plain valid report's data and phone number (E.164), taken without
    building the form (`grievance.quick_forms`); None for any other, which
    `_report_by_form` then handles: one with files, files kept or to
    remove, the hidden field filled, or anything to correct."""
    if "kept_remove" in request.form or any(
        item.filename for _name, item in request.files.items(multi=True)
    ):
        return None
    if current_app.config["WTF_CSRF_ENABLED"] and not g.get("csrf_valid"):
        return None
    data = quick_forms.valid_data(ReportForm, request.form, request.files)
    if data is None or data["homepage"]:
        return None
    phone = None
    if data["contact_method"] in ("sms", "whatsapp"):
        if not data["phone"]:
            return None
        try:
            phone = crypto.normalise_phone(data["phone"])
        except crypto.InvalidPhoneNumberError:
            return None
    elif data["contact_method"] == "email" and not data["email"]:
        return None
    if kept_files.count():
        return None
    return data, phone


def _report_by_form() -> Any:
    """The report through the whole form: its errors shown, its files kept."""
    form = ReportForm()
    form.categories.data = [c for c in (form.categories.data or []) if c in labels.CATEGORY_LABELS]
    form.safe_windows.data = [
        w for w in (form.safe_windows.data or []) if w in labels.SAFE_WINDOW_VALUES
    ]
    valid = form.validate_on_submit()
    if form.homepage.data:
        # Only software fills the hidden field; a person never sees it.
        return render_template(
            "errors/error.html",
            code=400,
            title=_("Sorry"),
            text=_("We could not accept this form."),
        ), 400
    phone = _contact_errors(form)
    # Kept files change only on a request with a valid CSRF token: one from
    # another site can neither plant nor remove them.
    trusted = not form.csrf_token.errors
    if trusted:
        kept_files.remove(set(request.form.getlist("kept_remove")))
    kept = kept_files.count()
    try:
        files = clean_uploads(request.files.getlist(form.attachments.name), already=kept)
    except UploadError as exc:
        commit()  # the files the worker removed stay removed
        return _render_form(form, 400, upload_error=str(exc))
    if not valid or form.phone.errors or form.email.errors:
        # The form comes back to be corrected; the files need not be chosen
        # again. Not without end: invalid forms are free to send, so a
        # client may leave files to keep a few times an hour.
        if (
            files
            and trusted
            and ratelimit.hit(ratelimit.client_key("kept-files"), 3600) <= KEEPS_PER_HOUR
        ):
            kept_files.keep(files)
        commit()
        return _render_form(form, 400)
    return _file_report(form.data, phone, files, kept)


def _file_report(
    data: Mapping[str, Any], phone: str | None, files: list[CleanFile], kept: int
) -> Any:
    """Store a valid report (`kept`: how many files kept for it); the receipt."""
    # Counted in Redis while this request goes on; read before anything is stored.
    counted = ratelimit.hit_soon(ratelimit.client_key("report"), 3600)
    if kept:
        # Kept files are taken (and deleted) only for a report let in.
        if counted() > REPORTS_PER_HOUR:
            abort(429)
        files = kept_files.take() + files
    report = _web_report(data, phone, files)
    # A report from a worker in danger is opened now: paging the on-call
    # caseworkers waits for no queue. Any other is sealed (while Redis
    # counts) and held; a job opens its case (grievance.intake.held).
    sealed = None if report.in_danger else held.seal(report)
    if counted() > REPORTS_PER_HOUR:
        abort(429)
    if sealed is None:
        receipt = web.submit_report(report)[1]
        commit()
    else:
        # Without kept files the request has not used its ORM session: the
        # statements go on a pooled connection of their own
        # (grievance.short_writes), on PostgreSQL as one statement that is
        # its own transaction; with them, in the session's transaction that
        # deletes the kept copies.
        with short_writes.unit() as unit:
            receipt = held.store(sealed, unit)
    # A new CSRF token: reloading the receipt page cannot file the report twice.
    session.pop("csrf_token", None)
    return receipt_page(
        receipt,
        in_danger=report.in_danger,
        shared_phone=data["own_phone"] in ("shared", "employer"),
    )


# -- follow-up ----------------------------------------------------------------------


def _timeline(case_id: int, case: Any) -> list[tuple[Any, str]]:
    # The first view in the chain's order, from the views' partial index.
    first_view = db.session.scalar(
        select(CaseEvent.created_at)
        .where(CaseEvent.case_id == case_id, text(VIEW_EVENTS_SQL))
        .order_by(CaseEvent.seq)
        .limit(1)
    )
    read_at = min((t for t in (first_view, case.acknowledged_at) if t), default=None)
    referred_at = min((r.created_at for r in case.referrals), default=None)
    steps = [(case.created_at, _("We received your report."))]
    if read_at:
        steps.append((read_at, _("A caseworker read your report.")))
    if referred_at:
        steps.append((referred_at, _("Your case was passed to a partner who can help.")))
    if case.resolved_at:
        steps.append((case.resolved_at, _("Your case was resolved.")))
    return steps


def _next_step(case: Any) -> str:
    if case.status == "new" and case.due_at:
        return _(
            "A caseworker will read your report by %(time)s (Japan time).",
            time=format_datetime(case.due_at, "short"),
        )
    if case.status in ("acknowledged", "in_progress"):
        return _("A caseworker is working on your case. Check here for messages.")
    if case.status == "referred":
        return _("A partner is looking at your case. We will tell you here what happens.")
    if case.status == "resolved":
        return _("Please tell us if the problem was solved. Your answer helps other workers.")
    return _("If you need more help, send us a message here.")


def _render_case(
    case: Any,
    reply_form: ReplyForm,
    status: int = 200,
    upload_error: str | None = None,
    survey_form: Any = None,
) -> Any:
    messages = db.session.scalars(
        select(Message)
        .where(Message.case_id == case.id, Message.internal.is_(False))
        .order_by(Message.id)
    ).all()
    consents = consent.worker_consents(case)
    question = consent.worker_question(case)
    return (
        render_template(
            "worker/follow_up.html",
            case=case,
            texts=feedback_text,
            outcome=resolution.worker_outcome(case),
            consents=[
                (c, feedback_text.consent_words(case.language, c.scope, c.partner_name))
                for c in consents
            ],
            question=question,
            question_words=(
                feedback_text.consent_words(case.language, question.scope, question.partner_name)
                if question
                else None
            ),
            survey_form=survey_form or SurveyForm(formdata=None),
            reference=web.case_services.format_code(case.reference),
            status_words=labels.STATUS_WORDS.get(case.status, ""),
            next_step=_next_step(case),
            timeline=_timeline(case.id, case),
            messages=messages,
            reply_form=reply_form,
            leave_form=EmptyForm(),
            upload_error=upload_error,
        ),
        status,
    )


@bp.route("/<lang>/follow-up", methods=["GET", "POST"])
def follow_up_page() -> Any:
    case = follow_up.current_case()
    if case is not None:
        return _render_case(case, ReplyForm(formdata=None))
    form = ReceiptForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            case = follow_up.open_with_receipt(form.reference.data or "", form.secret.data or "")
        except follow_up.TooManyTries:
            abort(429)
        if case is not None:
            commit()  # a held report may have been opened just now
            return redirect(url_for("intake.follow_up_page"), 303)
        form.secret.errors.append(_("The case number or the secret code is not correct."))
        return render_template("worker/follow_up_login.html", form=form), 400
    status = 400 if request.method == "POST" else 200
    return render_template("worker/follow_up_login.html", form=form), status


@bp.post("/<lang>/follow-up/reply")
def follow_up_reply() -> Any:
    case = follow_up.current_case()
    if case is None:
        return redirect(url_for("intake.follow_up_page"), 303)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render_case(case, form, 400)
    try:
        files = clean_uploads(request.files.getlist(form.attachments.name))
    except UploadError as exc:
        return _render_case(case, form, 400, upload_error=str(exc))
    web.add_worker_message(case, web.to_unicode(form.body.data or "", case.language), files)
    commit()
    return redirect(url_for("intake.follow_up_page"), 303)


def _follow_up_action() -> Any:
    """The case of this follow-up session, after the CSRF check; else a redirect."""
    case = follow_up.current_case()
    if case is None:
        return None, redirect(url_for("intake.follow_up_page"), 303)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return case, None


def _form_int(name: str) -> int:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        abort(400)


@bp.post("/<lang>/follow-up/consent/agree")
def follow_up_consent_agree() -> Any:
    case, early = _follow_up_action()
    if early is not None:
        return early
    try:
        consent.grant_by_worker(case, _form_int("request_id"))
    except consent.ConsentError:
        abort(404)
    commit()
    return redirect(url_for("intake.follow_up_page"), 303)


@bp.post("/<lang>/follow-up/consent/withdraw")
def follow_up_consent_withdraw() -> Any:
    case, early = _follow_up_action()
    if early is not None:
        return early
    consent_id = _form_int("consent_id")
    # Only a consent of this worker's own case, whatever id was sent.
    if consent_id not in {c.id for c in consent.worker_consents(case)}:
        abort(404)
    try:
        consent.withdraw_by_worker(case, consent_id)
    except consent.ConsentError:
        abort(404)
    commit()
    return redirect(url_for("intake.follow_up_page"), 303)


@bp.post("/<lang>/follow-up/feedback")
def follow_up_feedback() -> Any:
    case = follow_up.current_case()
    if case is None:
        return redirect(url_for("intake.follow_up_page"), 303)
    form = SurveyForm()
    if not form.validate_on_submit():
        return _render_case(case, ReplyForm(formdata=None), 400, survey_form=form)
    try:
        resolution.record_feedback(
            case,
            resolution.SurveyAnswers(
                solved=form.solved.data,
                felt_safe=form.felt_safe.data == "yes",
                recommend=form.recommend.data == "yes",
                comment=web.to_unicode(form.comment.data or "", case.language),
            ),
            via="web",
        )
    except resolution.ResolutionError:
        abort(409)
    commit()
    return redirect(url_for("intake.follow_up_page"), 303)


@bp.post("/<lang>/follow-up/reopen")
def follow_up_reopen() -> Any:
    case, early = _follow_up_action()
    if early is not None:
        return early
    try:
        resolution.request_reopen(case, via="web")
    except resolution.ResolutionError:
        abort(409)
    commit()
    return redirect(url_for("intake.follow_up_page"), 303)


@bp.post("/<lang>/follow-up/leave")
def follow_up_leave() -> Any:
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    follow_up.leave()
    return redirect(url_for("intake.choose_language"), 303)

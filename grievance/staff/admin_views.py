"""The admin pages under /admin: staff accounts, the on-call list, categories,
languages, canned responses, retention and the public statistics switch.

Admins only, checked on the server for every route of the blueprint (and
again by each view's decorator). Every form carries a CSRF token; every
change goes through `admin_services`, which writes the audit trail.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from grievance.cases import retention, settings
from grievance.cases.models import CannedResponse, Category, Partner
from grievance.extensions import commit, db, login_manager
from grievance.formbase import options
from grievance.i18n import LANGUAGES
from grievance.i18n import gettext as _
from grievance.staff import admin_services as admin
from grievance.staff.admin_forms import (
    ROLE_CHOICES,
    CannedResponseForm,
    CreateStaffForm,
    LanguagesForm,
    OnCallForm,
    SettingsForm,
)
from grievance.staff.auth import require_role
from grievance.staff.forms import EmptyForm
from grievance.staff.models import Role, StaffUser
from grievance.staff.views import use_staff_language

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(use_staff_language)

# Where the partner directory lives (its own blueprint, built beside the
# referral pages); linked from the admin index.
PARTNERS_PATH = "/admin/partners"


@bp.before_request
def _admins_only() -> Any:
    # Every route of this blueprint, including any added later.
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role != Role.ADMIN:
        abort(403)
    return None


def _actor() -> StaffUser:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _check_csrf() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def _staff_user(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/")
@require_role(Role.ADMIN)
def index() -> Any:
    return render_template(
        "staff/admin_index.html",
        partners_path=PARTNERS_PATH,
        retention_days=settings.retention_days(),
        public_on=settings.public_stats_enabled(),
    )


# -- staff accounts ------------------------------------------------------------------


def _partner_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Partner.code, Partner.name).where(Partner.active.is_(True)).order_by(Partner.name)
    )
    return [("", "—"), *((code, f"{name} ({code})") for code, name in rows)]


def _staff_page(form: CreateStaffForm, status: int = 200) -> Any:
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.email)).all()
    partners = dict(db.session.execute(select(Partner.id, Partner.code)).all())
    return (
        render_template(
            "staff/admin_staff.html",
            form=form,
            users=users,
            partners=partners,
            roles=dict(ROLE_CHOICES),
            action_form=EmptyForm(),
        ),
        status,
    )


@bp.get("/staff")
@require_role(Role.ADMIN)
def staff() -> Any:
    form = CreateStaffForm()
    form.partner.choices = options(_partner_choices())
    return _staff_page(form)


@bp.post("/staff")
@require_role(Role.ADMIN)
def create_staff() -> Any:
    form = CreateStaffForm()
    form.partner.choices = options(_partner_choices())
    if not form.validate_on_submit():
        return _staff_page(form, 400)
    try:
        account = admin.create_staff_account(
            _actor(),
            form.email.data or "",
            form.role.data or "",
            form.partner.data or None,
            form.display_name.data or "",
        )
    except admin.AdminError as exc:
        db.session.rollback()
        form.email.errors = [*form.email.errors, str(exc.message)]
        return _staff_page(form, 400)
    commit()
    # Shown once, on this response only (no-store): never stored in the clear.
    return render_template("staff/admin_staff_created.html", account=account)


def _account_action(user_id: int, action: Any, done: str) -> Any:
    _check_csrf()
    user = _staff_user(user_id)
    try:
        action(_actor(), user)
    except admin.AdminError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("admin.staff"))
    commit()
    flash(done, "info")
    return redirect(url_for("admin.staff"))


@bp.post("/staff/<int:user_id>/disable")
@require_role(Role.ADMIN)
def disable_staff(user_id: int) -> Any:
    return _account_action(
        user_id, admin.disable_staff_account, _("Account disabled; its sessions have ended.")
    )


@bp.post("/staff/<int:user_id>/enable")
@require_role(Role.ADMIN)
def enable_staff(user_id: int) -> Any:
    return _account_action(user_id, admin.enable_staff_account, _("Account enabled."))


@bp.post("/staff/<int:user_id>/reset-2fa")
@require_role(Role.ADMIN)
def reset_two_factor(user_id: int) -> Any:
    return _account_action(
        user_id,
        admin.reset_staff_two_factor,
        _("Two-factor login reset: the person sets up a new code at their next login."),
    )


# -- the on-call list -------------------------------------------------------------------


@bp.route("/on-call", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def on_call() -> Any:
    users = db.session.scalars(
        select(StaffUser)
        .where(StaffUser.role.in_(admin.ON_CALL_ROLES), StaffUser.disabled.is_(False))
        .order_by(StaffUser.email)
    ).all()
    form = OnCallForm()
    form.on_call.choices = options((user.id, user.label) for user in users)
    if form.validate_on_submit():
        try:
            changed = admin.set_on_call(_actor(), set(form.on_call.data or []))
        except admin.AdminError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("admin.on_call"))
        commit()
        flash(_("On-call list saved (%(n)s changes).", n=changed), "info")
        return redirect(url_for("admin.on_call"))
    if request.method == "POST":
        abort(400)
    form.on_call.data = [user.id for user in users if user.on_call]
    return render_template("staff/admin_on_call.html", form=form, users=users)


# -- categories ----------------------------------------------------------------------------


@bp.route("/categories", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def categories() -> Any:
    rows = db.session.scalars(select(Category).order_by(Category.position, Category.code)).all()
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        changes = []
        for category in rows:
            raw = request.form.get(f"position-{category.code}", "").strip()
            if not raw.isdigit() or int(raw) > 9999:
                flash(_("Order must be a whole number from 0 to 9999."), "error")
                return render_template("staff/admin_categories.html", rows=rows, form=form), 400
            changes.append(
                admin.CategoryChange(
                    code=category.code,
                    enabled=request.form.get(f"enabled-{category.code}") == "on",
                    position=int(raw),
                )
            )
        try:
            changed = admin.update_categories(_actor(), changes)
        except admin.AdminError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("admin.categories"))
        commit()
        flash(_("Categories saved (%(n)s changes).", n=changed), "info")
        return redirect(url_for("admin.categories"))
    return render_template("staff/admin_categories.html", rows=rows, form=form)


# -- languages ------------------------------------------------------------------------------


@bp.route("/languages", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def languages() -> Any:
    form = LanguagesForm()
    form.languages.choices = options(_language_choices())
    if form.validate_on_submit():
        try:
            admin.set_enabled_languages(_actor(), list(form.languages.data or []))
        except admin.AdminError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for("admin.languages"))
        commit()
        flash(_("Languages saved."), "info")
        return redirect(url_for("admin.languages"))
    if request.method == "POST":
        abort(400)
    form.languages.data = settings.enabled_languages()
    return render_template("staff/admin_languages.html", form=form, canned=admin.canned_counts())


# -- canned responses ---------------------------------------------------------------------


def _language_choices() -> list[tuple[str, str]]:
    return [(lang.code, f"{lang.endonym} ({lang.code})") for lang in LANGUAGES]


@bp.get("/canned")
@require_role(Role.ADMIN)
def canned() -> Any:
    language = request.args.get("language", "")
    stmt = select(CannedResponse).order_by(
        CannedResponse.language, CannedResponse.position, CannedResponse.id
    )
    if language:
        stmt = stmt.where(CannedResponse.language == language)
    return render_template(
        "staff/admin_canned.html",
        responses=db.session.scalars(stmt).all(),
        language=language,
        languages=_language_choices(),
        names=dict(_language_choices()),
    )


def _canned_form(response: CannedResponse | None) -> Any:
    form = CannedResponseForm(obj=response)
    form.language.choices = options(_language_choices())
    if response is None and request.method == "GET" and request.args.get("language"):
        form.language.data = request.args["language"]
    status = 200
    if form.validate_on_submit():
        text = admin.CannedText(
            language=form.language.data or "",
            title=form.title.data or "",
            body=form.body.data or "",
            position=form.position.data or 0,
            active=bool(form.active.data),
        )
        try:
            saved = admin.save_canned_response(_actor(), text, response)
        except admin.AdminError as exc:
            db.session.rollback()
            form.title.errors = [*form.title.errors, str(exc.message)]
            status = 400
        else:
            commit()
            flash(_("Canned response saved."), "info")
            return redirect(url_for("admin.canned", language=saved.language))
    elif request.method == "POST":
        status = 400
    return render_template("staff/admin_canned_form.html", form=form, response=response), status


@bp.route("/canned/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def new_canned() -> Any:
    return _canned_form(None)


@bp.route("/canned/<int:response_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit_canned(response_id: int) -> Any:
    response = db.session.get(CannedResponse, response_id)
    if response is None:
        abort(404)
    return _canned_form(response)


# -- retention and public statistics -------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def settings_page() -> Any:
    form = SettingsForm()
    status = 200
    if form.validate_on_submit():
        try:
            admin.set_retention_days(_actor(), int(form.retention_days.data or 0))
            admin.set_public_stats(_actor(), bool(form.public_stats.data))
        except admin.AdminError as exc:
            db.session.rollback()
            form.retention_days.errors = [*form.retention_days.errors, str(exc.message)]
            status = 400
        else:
            commit()
            flash(_("Settings saved."), "info")
            return redirect(url_for("admin.settings_page"))
    elif request.method == "POST":
        status = 400
    else:
        form.retention_days.data = settings.retention_days()
        form.public_stats.data = settings.public_stats_enabled()
    plan = retention.plan_purge()
    return (
        render_template(
            "staff/admin_settings.html",
            form=form,
            plan=plan,
            configured_days=settings.get_value(settings.RETENTION_DAYS) is None,
        ),
        status,
    )

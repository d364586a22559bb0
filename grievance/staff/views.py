"""Staff login with password and TOTP, enrolment, logout, language."""

from __future__ import annotations

import time
from typing import Any

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from grievance.extensions import commit, db
from grievance.i18n import STAFF_LANGUAGES, set_language, staff_domain, staff_language
from grievance.i18n import gettext as _
from grievance.staff import services
from grievance.staff.auth import end_session, start_session
from grievance.staff.forms import CodeForm, EmptyForm, LoginForm
from grievance.staff.models import Role, StaffUser
from grievance.staff.services import LoginResult

bp = Blueprint("staff", __name__, url_prefix="/staff")

PENDING_TTL = 300  # seconds between the password and the code


def use_staff_language() -> None:
    """Staff pages speak Japanese or English, from the `staff` catalog."""
    set_language(staff_language())
    staff_domain.as_default()


bp.before_request(use_staff_language)


def home_for(user: StaffUser) -> str:
    if user.role == Role.ADVISOR:
        return url_for("advisor.referrals")
    return url_for("cases.queue")


def _pending_user() -> StaffUser | None:
    key = session.get("pending_uid")
    if not key or time.time() - session.get("pending_at", 0) > PENDING_TTL:
        return None
    user_id, epoch = (int(p) for p in key.split(":"))
    user = db.session.get(StaffUser, user_id)
    if user is None or user.session_epoch != epoch or user.disabled:
        return None
    return user


def _failure_message(result: LoginResult) -> str:
    if result is LoginResult.LOCKED:
        return _("Too many attempts. This account is locked for 15 minutes.")
    return _("The e-mail, password or code is not correct.")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.find_by_email(form.email.data or "")
        result = services.check_password(user, form.password.data or "")
        commit()
        if result is LoginResult.OK and user is not None:
            session.clear()
            session["pending_uid"] = user.get_id()
            session["pending_at"] = int(time.time())
            if not user.totp_confirmed:
                return redirect(url_for("staff.enrol"))
            return redirect(url_for("staff.two_factor"))
        flash(_failure_message(result), "error")
        return render_template("staff/login.html", form=form), 401
    return render_template("staff/login.html", form=form)


def _finish_code_step(user: StaffUser, form: CodeForm) -> Any:
    result = services.check_totp(user, form.code.data or "")
    commit()
    if result is LoginResult.OK:
        start_session(user)
        return redirect(home_for(user))
    if result in (LoginResult.LOCKED, LoginResult.DISABLED):
        session.clear()
        flash(_failure_message(result), "error")
        return redirect(url_for("staff.login"))
    flash(_failure_message(result), "error")
    return None


@bp.route("/2fa", methods=["GET", "POST"])
def two_factor() -> Any:
    user = _pending_user()
    if user is None:
        return redirect(url_for("staff.login"))
    if not user.totp_confirmed:
        return redirect(url_for("staff.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        done = _finish_code_step(user, form)
        if done is not None:
            return done
        return render_template("staff/two_factor.html", form=form), 401
    return render_template("staff/two_factor.html", form=form)


@bp.route("/2fa/enrol", methods=["GET", "POST"])
def enrol() -> Any:
    user = _pending_user()
    if user is None:
        return redirect(url_for("staff.login"))
    if user.totp_confirmed:
        return redirect(url_for("staff.two_factor"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        done = _finish_code_step(user, form)
        if done is not None:
            return done
        status = 401
    uri = services.provisioning_uri(user)
    # Drawn here as SVG: the secret never goes to an outside QR service.
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return (
        render_template("staff/enrol.html", form=form, qr_svg=qr_svg, secret=user.totp_secret),
        status,
    )


@bp.post("/logout")
@login_required
def logout() -> Any:
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    services.end_sessions(current_user._get_current_object())
    commit()
    end_session()
    return redirect(url_for("staff.login"))


@bp.post("/language")
def language() -> Any:
    form = EmptyForm()
    chosen = request.form.get("lang", "")
    if not form.validate_on_submit() or chosen not in STAFF_LANGUAGES:
        abort(400)
    session["staff_lang"] = chosen
    if current_user.is_authenticated:
        # Kept on the account, so the next login on any device speaks it too.
        current_user.language = chosen
        commit()
    return redirect(
        url_for("staff.login") if not current_user.is_authenticated else home_for(current_user)
    )

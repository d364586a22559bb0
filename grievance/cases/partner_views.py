"""The partner directory for admins: list, add, edit, import and export CSV."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from grievance.cases import partners
from grievance.cases.models import Category, Partner, ResidenceStatus
from grievance.extensions import commit, db
from grievance.formbase import BaseForm, options
from grievance.i18n import gettext as _
from grievance.i18n import lazy_gettext as _l
from grievance.staff.auth import require_role
from grievance.staff.models import Role
from grievance.staff.views import use_staff_language

bp = Blueprint("partners", __name__, url_prefix="/admin/partners")
bp.before_request(use_staff_language)

PREF_CHOICES = options([("", "—")] + [(f"{n:02d}", f"{n:02d}") for n in range(1, 48)])


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PartnerForm(BaseForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Kind"), choices=options(partners.KIND_LABELS.items()))
    sector = StringField(_l("Sector"), validators=[Length(max=32)])
    type_code = StringField(_l("Type code"), validators=[Length(max=32)])
    pref_code = SelectField(_l("Prefecture code"), choices=PREF_CHOICES, default="")
    prefecture = StringField(_l("Prefecture name"), validators=[Length(max=40)])
    scope = SelectField(_l("Serves"), choices=options(partners.SCOPE_LABELS.items()))
    languages = StringField(_l("Languages (codes separated by ;)"), validators=[Length(max=200)])
    categories = CheckboxesField(_l("Categories handled"), choices=[])
    eligibility = CheckboxesField(
        _l("Accepts only these residence statuses (none: all)"), choices=[]
    )
    anonymous_ok = StringField(
        _l("Anonymous referrals (yes / no / note)"), validators=[Length(max=32)]
    )
    immigration_exposure = BooleanField(_l("May pass information to immigration enforcement"))
    notify_email = EmailField(_l("Notification e-mail"), validators=[Optional(), Length(max=200)])
    sms_phone = StringField(_l("Also alert by SMS to (optional)"), validators=[Length(max=32)])
    is_fictional = BooleanField(_l("Demo entry (fictional)"))
    active = BooleanField(_l("Active"), default=True)
    notes = StringField(_l("Notes"), validators=[Length(max=300)])

    def fill_choices(self) -> None:
        self.categories.choices = options(
            (c.code, f"{c.code} · {c.name}")
            for c in db.session.scalars(select(Category).order_by(Category.position))
        )
        self.eligibility.choices = options(
            (s.code, f"{s.code} · {s.name_en}")
            for s in db.session.scalars(select(ResidenceStatus).order_by(ResidenceStatus.code))
        )

    def to_data(self) -> partners.PartnerData:
        return partners.PartnerData(
            code=(self.code.data or "").strip(),
            name=(self.name.data or "").strip(),
            kind=self.kind.data or "other",
            sector=self.sector.data or "",
            type_code=self.type_code.data or "",
            pref_code=self.pref_code.data or "",
            prefecture=self.prefecture.data or "",
            scope=self.scope.data or "",
            languages=partners.split_codes((self.languages.data or "").replace(",", ";")),
            categories=list(self.categories.data or []),
            eligibility=list(self.eligibility.data or []),
            anonymous_ok=self.anonymous_ok.data or "",
            immigration_exposure=bool(self.immigration_exposure.data),
            notify_email=self.notify_email.data or "",
            is_fictional=bool(self.is_fictional.data),
            active=bool(self.active.data),
            notes=self.notes.data or "",
        )


class ImportForm(BaseForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])


def _me() -> Any:
    return current_user._get_current_object()


@bp.get("", strict_slashes=False)
@require_role(Role.ADMIN)
def index() -> Any:
    kind = request.args.get("kind") or None
    if kind not in partners.KINDS:
        kind = None
    return render_template(
        "staff/partner_list.html",
        partners=partners.list_partners(kind=kind),
        kind=kind,
        kinds=partners.KIND_LABELS,
        scopes=partners.SCOPE_LABELS,
        import_form=ImportForm(formdata=None),
    )


def _render_form(form: PartnerForm, partner: Partner | None, status: int = 200) -> Any:
    return (
        render_template("staff/partner_form.html", form=form, partner=partner),
        status,
    )


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def new() -> Any:
    form = PartnerForm()
    form.fill_choices()
    if not form.validate_on_submit():
        return _render_form(form, None, 400 if request.method == "POST" else 200)
    try:
        partner = partners.create_partner(_me(), form.to_data())
        partners.set_sms_contact(_me(), partner, form.sms_phone.data)
    except partners.PartnerError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _render_form(form, None, 400)
    commit()
    flash(_("Partner added."), "info")
    return redirect(url_for("partners.index"), 303)


@bp.route("/<int:partner_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit(partner_id: int) -> Any:
    partner = partners.get_partner(partner_id)
    if partner is None:
        abort(404)
    if request.method == "GET":
        data = partners.PartnerData.of(partner)
        form = PartnerForm(
            formdata=None,
            obj=data,
            languages=";".join(data.languages),
            sms_phone="",
        )
        form.fill_choices()
        has_sms = partners.sms_contact(partner) is not None
        return render_template(
            "staff/partner_form.html", form=form, partner=partner, has_sms=has_sms
        )
    form = PartnerForm()
    form.fill_choices()
    if not form.validate_on_submit():
        return _render_form(form, partner, 400)
    try:
        partners.update_partner(_me(), partner, form.to_data())
        if form.sms_phone.data or request.form.get("remove_sms"):
            partners.set_sms_contact(_me(), partner, form.sms_phone.data)
    except partners.PartnerError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _render_form(form, partners.get_partner(partner_id), 400)
    commit()
    flash(_("Partner saved."), "info")
    return redirect(url_for("partners.index"), 303)


@bp.post("/import")
@require_role(Role.ADMIN)
def import_csv() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a CSV file."), "error")
        return redirect(url_for("partners.index"), 303)
    raw = form.file.data.read(partners.MAX_IMPORT_BYTES + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text."), "error")
        return redirect(url_for("partners.index"), 303)
    report = partners.import_csv(_me(), text)
    if not report.ok:
        db.session.rollback()
        return (
            render_template("staff/partner_import.html", report=report),
            400,
        )
    commit()
    flash(
        _(
            "Import done: %(created)s added, %(updated)s changed, %(unchanged)s unchanged.",
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
        ),
        "info",
    )
    return redirect(url_for("partners.index"), 303)


@bp.get("/export.csv")
@require_role(Role.ADMIN)
def export_csv() -> Any:
    full = request.args.get("full") == "1"
    text = partners.export_csv(partners.all_for_export(), full=full)
    name = "partners-full.csv" if full else "partners.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

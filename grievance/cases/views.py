"""Caseworker pages (the advisor portal is grievance.cases.advisor_views)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user

from grievance.cases import queries, services
from grievance.cases.labels import status_label
from grievance.cases.services import format_code, normalise_code
from grievance.extensions import commit
from grievance.staff.auth import require_role
from grievance.staff.models import Role
from grievance.staff.views import use_staff_language

bp = Blueprint("cases", __name__)
bp.before_request(use_staff_language)
bp.add_app_template_global(status_label, "status_label")
bp.add_app_template_global(format_code, "format_reference")

CASE_STAFF = (Role.ADMIN, Role.CASEWORKER)


@bp.get("/staff/queue")
@require_role(*CASE_STAFF)
def queue() -> Any:
    return render_template("staff/queue.html", cases=queries.queue_page())


@bp.get("/staff/cases/<reference>")
@require_role(*CASE_STAFF)
def case_detail(reference: str) -> Any:
    case = queries.case_by_reference(normalise_code(reference))
    if case is None:
        abort(404)
    services.record_view(case, current_user.id)
    commit()
    contact = json.loads(case.contact) if case.contact else {}
    intermediaries = json.loads(case.intermediaries) if case.intermediaries else {}
    return render_template(
        "staff/case.html",
        case=case,
        reference=format_code(case.reference),
        contact=contact,
        intermediaries=intermediaries,
    )

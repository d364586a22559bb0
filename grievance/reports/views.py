"""The reports dashboard, the CSV export and the optional public statistics page.

Staff pages (caseworkers and admins): `/staff/reports` and its export.
`/statistics` is public, off by default (an admin switches it on), and shows
only suppressed quarterly counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_babel import format_decimal
from flask_login import current_user

from grievance.cases import audit, settings
from grievance.extensions import commit
from grievance.i18n import gettext as _
from grievance.reports import charts, export, labels, queries, rollup
from grievance.reports.indicators import indicators
from grievance.reports.period import Period
from grievance.staff.auth import require_role
from grievance.staff.models import Role
from grievance.staff.views import use_staff_language

bp = Blueprint("reports", __name__)
bp.before_request(use_staff_language)


@bp.record_once
def _register_periodic(state: BlueprintSetupState) -> None:
    # The roll-up every report reads is refreshed with the other periodic
    # work (see `grievance.reports.rollup`).
    state.app.extensions.setdefault("grievance.periodic", {})["report_rollup"] = (
        rollup.periodic_task
    )


REPORT_STAFF = (Role.ADMIN, Role.CASEWORKER)

# (section id, dimensions drawn in it)
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("who", ("category", "language", "channel", "prefecture", "residence", "urgency")),
    ("speed", ("ack_deadline", "first_response_time", "ack_time", "resolve_time")),
    ("results", ("outcome", "closure", "legal_advice", "dialogue", "gag_clause")),
    ("voice", ("solved", "felt_safe", "recommend")),
)
KEY_PREFIX = 10  # characters of a keyed hash shown to tell repeat names apart


@dataclass(frozen=True)
class Figure:
    """One dimension: its title, the table rows (code, label, count) and the chart."""

    dimension: str
    title: str
    rows: list[tuple[str, str, int]]
    total: int
    chart: charts.Chart


def hours(value: float | None) -> str:
    """Hours for people: "5.5 h" below two days, "3.2 d" from then on."""
    if value is None:
        return "–"
    if value < 48:
        return _("%(n)s h", n=format_decimal(value, format="#,##0.0"))
    return _("%(n)s d", n=format_decimal(value / 24, format="#,##0.0"))


def number(value: int | None) -> str:
    """A count with the separators of the page's language."""
    if value is None:
        return "–"
    return format_decimal(value, format="#,##0")


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return format_decimal(value, format="#,##0.0") + "%"


bp.add_app_template_filter(hours, "report_hours")
bp.add_app_template_filter(percent, "report_percent")
bp.add_app_template_filter(number, "report_number")


def figure(dimension: str, counts: dict[str, int], labeller: labels.Labeller) -> Figure:
    rows = [(code, labeller(dimension, code), n) for code, n in labels.ordered(dimension, counts)]
    name = labels.title(dimension)
    chart = charts.bar_chart(f"chart-{dimension}", name, [(label, n) for _, label, n in rows])
    return Figure(dimension, name, rows, sum(n for _, _, n in rows), chart)


@bp.get("/staff/reports")
@require_role(*REPORT_STAFF)
def dashboard() -> Any:
    period = Period.from_args(request.args)
    data = queries.report_for(period)
    labeller = labels.Labeller()
    months = charts.column_chart(
        "chart-months", labels.title("total"), [(m, n) for m, n in data.months]
    )
    sections = [
        (section, [figure(d, data.counts(d), labeller) for d in dimensions])
        for section, dimensions in SECTIONS
    ]
    repeats = [
        (labels.title(name), result, [(key[:KEY_PREFIX], n) for key, n in result.top])
        for name, result in data.repeats.items()
    ]
    return render_template(
        "staff/reports.html",
        period=period,
        data=data,
        months=months,
        sections=sections,
        indicators=indicators(data),
        repeats=repeats,
        presets=[Period.ending(months=n) for n in (3, 12, 24)],
        granularities=export.GRANULARITIES,
        public_on=settings.public_stats_enabled(),
    )


@bp.get("/staff/reports/export.csv")
@require_role(*REPORT_STAFF)
def export_csv() -> Any:
    period = Period.from_args(request.args)
    granularity = request.args.get("by", "month")
    if granularity not in export.GRANULARITIES:
        abort(400)
    body = export.csv_text(export.csv_rows(period, granularity))
    # Exports leave the system: who took which period is worth a trace.
    audit.record(
        "report.exported",
        actor_id=current_user.id,
        detail={"from": period.first_month, "to": period.last_month, "by": granularity},
    )
    commit()
    filename = f"statistics-{period.first_month}-{period.last_month}-{granularity}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/statistics")
def public_statistics() -> Any:
    """Quarterly statistics for anyone, with small groups suppressed; 404 when off."""
    if not settings.public_stats_enabled():
        abort(404)
    stats = export.public_stats()
    labeller = labels.Labeller()
    tables = [
        (
            labels.title(t.dimension),
            [(labeller(t.dimension, code), cells) for code, cells in t.rows],
        )
        for t in stats.tables
    ]
    return render_template("staff/public_stats.html", stats=stats, tables=tables)

"""Template helpers shared by worker and staff pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask_babel import format_datetime
from flask_login import current_user
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import Markup

from grievance import crypto, i18n
from grievance.datakeys import as_utc
from grievance.page_templates import FixedTexts

# Japan's clock has been UTC+9 all year since 1951 (the zone database agrees):
# a fixed offset gives its time without a zone look-up.
_JAPAN_OFFSET = timedelta(hours=9)
_NO_OFFSET = timedelta(0)


def datetime_short(value: datetime) -> str:
    """Japan time, to the minute: staff work in Japan."""
    # Written from the fields: a zone conversion and strftime for each of a
    # queue page's fifty dates were a twentieth of the page's time.
    offset = value.utcoffset()
    # A naive time is UTC, as every time is stored (SQLite drops the zone).
    local = value.replace(tzinfo=None) - (offset or _NO_OFFSET) + _JAPAN_OFFSET
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


def worker_datetime(value: datetime) -> str:
    """Date and time in the page's language, Japan time."""
    return format_datetime(as_utc(value), "short")


def is_overdue(value: datetime) -> bool:
    return as_utc(value) < datetime.now(UTC)


@pass_eval_context
def page_gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
    """`_()` and `gettext()` in templates, as Jinja's own i18n extension
    defines them (a format string always; escaped variables on HTML pages),
    without its two context calls and Flask-Babel's lookups per string."""
    text = i18n.page_translations().ugettext(string)
    if eval_ctx.autoescape:
        return Markup(text) % variables  # noqa: S704 - a catalog's text, variables escaped
    return text % variables


def init_app(app: Flask) -> None:
    # After Flask-Babel's own set-up, which these replace.
    app.jinja_env.globals.update(_=page_gettext, gettext=page_gettext)
    # Fixed texts are compiled into each language's templates instead.
    app.jinja_env.add_extension(FixedTexts)
    app.add_template_filter(datetime_short, "datetime_short")
    app.add_template_filter(worker_datetime, "worker_datetime")
    app.add_template_global(is_overdue, "is_overdue")
    app.add_template_global(crypto.mask_phone, "mask_phone")
    # The proxy, looked up when a page uses it (the staff pages), where
    # Flask-Login's context processor loaded the user for every page drawn,
    # a worker's included.
    app.add_template_global(current_user, "current_user")

    @app.context_processor
    def _language() -> dict[str, Any]:
        return {"ui_language": i18n.current_language()}

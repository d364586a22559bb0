"""Translated labels for codes shown on staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "referred": _l("Referred"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))

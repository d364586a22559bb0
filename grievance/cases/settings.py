"""Admin-editable settings, read with their defaults.

The `settings` table holds only what an admin changed; every reader here
falls back to the configuration or the built-in default, so an empty table
means "as configured". Values are codes and numbers, never personal data.

Writers are in `grievance.staff.admin_services`, which also writes the audit
event; this module only reads and stores.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from grievance.cases.models import Setting
from grievance.extensions import db
from grievance.i18n import LANGUAGES

RETENTION_DAYS = "retention_days"
ENABLED_LANGUAGES = "enabled_languages"
PUBLIC_STATS = "public_stats"

# Bounds for the retention period an admin may set: never so short that a
# typo destroys last month's cases, never longer than ten years.
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650


def get_value(key: str, default: Any = None) -> Any:
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def put_value(key: str, value: Any) -> None:
    """Store one setting (flushes; the caller commits)."""
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    db.session.flush()


def retention_days() -> int:
    """Days a closed case is kept: the admin's setting, else RETENTION_DAYS."""
    value = get_value(RETENTION_DAYS)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return int(current_app.config["RETENTION_DAYS"])


def enabled_languages() -> list[str]:
    """Worker languages offered, in registry order (all of them by default).

    Unknown codes in the stored value are ignored, so a language removed
    from the registry can never reach Flask-Babel through this setting.
    """
    value = get_value(ENABLED_LANGUAGES)
    codes = [lang.code for lang in LANGUAGES]
    if not isinstance(value, list) or not value:
        return codes
    chosen = {str(code) for code in value}
    return [code for code in codes if code in chosen] or codes


def public_stats_enabled() -> bool:
    """Whether the public statistics page is published (off by default)."""
    return get_value(PUBLIC_STATS) is True

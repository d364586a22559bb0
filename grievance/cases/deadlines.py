"""Deadlines for the first human contact, by urgency.

P0 and P1 count clock time (1 hour, 24 hours); P2 and P3 count working
days (2 and 5), skipping Saturdays and Sundays in Japan time. Public
holidays are not modelled yet, which errs on the early side.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

CLOCK_SLA = {"P0": timedelta(hours=1), "P1": timedelta(hours=24)}
WORKING_DAYS_SLA = {"P2": 2, "P3": 5}


def add_working_days(start: datetime, days: int) -> datetime:
    local = start.astimezone(JST)
    added = 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local.astimezone(start.tzinfo)


def due_at(urgency: str, start: datetime) -> datetime:
    """When the first human contact is due for a case of `urgency` opened at `start`."""
    if urgency in CLOCK_SLA:
        return start + CLOCK_SLA[urgency]
    return add_working_days(start, WORKING_DAYS_SLA.get(urgency, 5))

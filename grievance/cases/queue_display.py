"""What the queue page shows, made in Python in one pass.

Fifty rows of `url_for`, label and date calls from the template, and the
filter menus' labels looked up per option, were two thirds of the queue
page's time; here each label is translated once per page and the template
only writes out strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import url_for

from grievance import i18n
from grievance.cases import queue as work_queue
from grievance.cases.labels import (
    PREFECTURES,
    channel_label,
    prefecture_label,
    status_label,
    urgency_label,
)
from grievance.cases.redflags import URGENCY_ORDER
from grievance.cases.services import format_code
from grievance.templating import datetime_short


@dataclass(frozen=True)
class Option:
    value: str
    text: str
    selected: bool


def filter_options(
    filters: work_queue.QueueFilters, categories: Sequence[tuple[str, str]]
) -> dict[str, list[Option]]:
    """The filter form's choices, labelled and marked once in Python."""

    def options(pairs: Any, chosen: str | None) -> list[Option]:
        return [Option(value, text, value == chosen) for value, text in pairs]

    return {
        "status": options(((c, status_label(c)) for c in work_queue.ALL_STATUSES), filters.status),
        "urgency": options(((c, urgency_label(c)) for c in URGENCY_ORDER), filters.urgency),
        "language": options(
            ((lang.code, f"{lang.endonym} ({lang.code})") for lang in i18n.LANGUAGES),
            filters.language,
        ),
        "category": options(((c, f"{c} · {name}") for c, name in categories), filters.category),
        "prefecture": options(
            ((c, f"{c} · {prefecture_label(c)}") for c, _ja, _en in PREFECTURES),
            filters.prefecture,
        ),
        "channel": options(((c, channel_label(c)) for c in work_queue.CHANNELS), filters.channel),
        "assignee": options(
            ((str(staff_id), label) for staff_id, label in work_queue.assignable_labels()),
            filters.assignee,
        ),
    }


@dataclass(frozen=True)
class QueueLine:
    """A queue row as the page shows it, every text already made."""

    href: str
    reference: str
    urgency: str
    due: str
    late: bool
    status: str
    review_pending: bool
    language: str
    channel: str
    categories: str
    unread: int
    assignee: str


def lines(rows: list[work_queue.QueueRow], now: datetime) -> list[QueueLine]:
    """The page's rows, every text made; a label once per code."""
    href = url_for("cases.case_detail", reference="_")[:-1]
    statuses: dict[str, str] = {}
    channels: dict[str, str] = {}
    lines = []
    for row in rows:
        reference = format_code(row.reference)
        if row.status not in statuses:
            statuses[row.status] = status_label(row.status)
        if row.channel not in channels:
            channels[row.channel] = channel_label(row.channel)
        lines.append(
            QueueLine(
                href=href + reference,
                reference=reference,
                urgency=row.urgency,
                due=datetime_short(row.due_at) if row.due_at else "",
                late=row.overdue(now),
                status=statuses[row.status],
                review_pending=row.review_state == "pending",
                language=row.language,
                channel=channels[row.channel],
                categories=", ".join(row.categories),
                unread=row.unread,
                assignee=row.assignee or "—",
            )
        )
    return lines

"""What the queue page shows, made in Python in one pass.

Fifty rows of `url_for`, label and date calls from the template, and the
filter menus' labels looked up per option, were two thirds of the queue
page's time; here each label is translated once per page, and the table's
rows are written out as HTML (`rows_html`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup, escape

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
from grievance.i18n import gettext as _
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


# One queue row. Every text in it comes through `_Page.text` (escaped); the
# numbers are formatted from ints.
_ROW = (
    '<tr class="urgency-{urgency}{overdue_class}">'
    '<td><a href="{href}">{reference}</a></td>'
    "<td>{urgency}</td>"
    "<td>{due}{late}</td>"
    "<td>{status}{review}</td>"
    "<td>{language}</td>"
    "<td>{channel}</td>"
    "<td>{categories}</td>"
    "<td>{unread}</td>"
    "<td>{assignee}</td>"
    "</tr>\n"
)


class _Page:
    """Escaped texts for one page: a label, a language or a name that
    comes back row after row is escaped once."""

    def __init__(self) -> None:
        self._escaped: dict[str, str] = {}

    def text(self, value: str) -> str:
        found = self._escaped.get(value)
        if found is None:
            found = self._escaped[value] = str(escape(value))
        return found


# Rows drawn before, kept per application (`current_app.extensions`).
_KEPT = "grievance.queue_rows"
# Rows kept at most, for all languages: a few pages for each caseworker of a
# large team. Past it the oldest go first; about 0.5 KB a row.
KEPT_AT_MOST = 4000
_writing = threading.Lock()


def rows_html(rows: list[work_queue.QueueRow], now: datetime) -> Markup:
    """The table's rows as HTML, each drawn once and kept.

    Through Jinja the 50 rows of 9 cells took 6 us a row, and making their
    texts first as many again (a label, a date and a link per row): about
    a quarter of the queue page's time. Written here in Python, a row still
    took 15 us (its texts escaped, its date and code written out). A row's
    HTML depends only on the row (every field it shows, the assignee's name
    included), whether it is overdue, the page's language and the address
    prefix: it is kept under those, so the same row on the next page drawn
    costs a look-up. A case that changes (status, due time, a new message)
    makes another row, and so another key: a kept row is never out of date.
    """
    href = url_for("cases.case_detail", reference="_")[:-1]
    kept: dict[tuple[Any, ...], str] = current_app.extensions.setdefault(_KEPT, {})
    language = i18n.current_language().code
    made = []
    # (Where in the page, key) of the rows not kept yet; a key starts with
    # the row and whether it is overdue.
    missing: list[tuple[int, tuple[Any, ...]]] = []
    for row in rows:
        key = (row, row.overdue(now), language, href)
        found = kept.get(key)
        if found is None:
            missing.append((len(made), key))
        made.append(found or "")
    if missing:
        drawn = _draw(href, [(key[0], key[1]) for _at, key in missing])
        # One writer at a time: another thread's page may be drawn meanwhile
        # (the oldest row is found by iterating the dict).
        with _writing:
            for (at, key), html in zip(missing, drawn, strict=True):
                made[at] = html
                if len(kept) >= KEPT_AT_MOST:
                    # The oldest kept row goes (dicts keep their order).
                    kept.pop(next(iter(kept)), None)
                kept[key] = html
    # Every text in the rows was escaped as it was written: safe HTML.
    return Markup("".join(made))  # noqa: S704


def _draw(href: str, rows: list[tuple[work_queue.QueueRow, bool]]) -> list[str]:
    """Rows as HTML, each text escaped as it is written (labels and names
    once for all the rows)."""
    page = _Page()
    statuses: dict[str, str] = {}
    channels: dict[str, str] = {}
    # (Translated outside the f-strings: the catalogs' extractor does not
    # look inside them.)
    overdue_text = page.text(_("Overdue"))
    review_text = page.text(_("closure to review"))
    late = f' <strong class="late">{overdue_text}</strong>'
    review = f" <em>({review_text})</em>"
    made = []
    for row, overdue in rows:
        code = format_code(row.reference)
        if row.status not in statuses:
            statuses[row.status] = page.text(status_label(row.status))
        if row.channel not in channels:
            channels[row.channel] = page.text(channel_label(row.channel))
        made.append(
            _ROW.format(
                urgency=page.text(row.urgency),
                overdue_class=" overdue" if overdue else "",
                href=page.text(href + code),
                reference=page.text(code),
                due=page.text(datetime_short(row.due_at)) if row.due_at else "",
                late=late if overdue else "",
                status=statuses[row.status],
                review=review if row.review_state == "pending" else "",
                language=page.text(row.language),
                channel=channels[row.channel],
                categories=page.text(", ".join(row.categories)),
                unread=f"<strong>{int(row.unread)}</strong>" if row.unread else "",
                assignee=page.text(row.assignee or "—"),
            )
        )
    return made

"""The queue's rows, drawn once and kept (`queue_display.rows_html`).

A kept row must never show what its case no longer is: each test draws a
row, changes what the row shows, and checks the page shows the change. (The
rows of each staff language: tests/cases/test_workspace_views.py.)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, g

from grievance.cases import queue_display
from grievance.cases.queue import QueueRow
from grievance.i18n import BY_CODE

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def row(**changes: object) -> QueueRow:
    fields: dict[str, object] = {
        "id": 7,
        "reference": "ABCD2345",
        "urgency": "P1",
        "due_at": NOW + timedelta(hours=5),
        "status": "new",
        "language": "vi",
        "channel": "sms",
        "prefecture": "23",
        "unread": 0,
        "assignee_id": None,
        "review_state": None,
        "categories": ("WAGE_UNPAID",),
        "assignee": "",
    }
    fields.update(changes)
    return QueueRow(**fields)  # type: ignore[arg-type]


def draw(app: Flask, rows: list[QueueRow], *, language: str = "en", now: datetime = NOW) -> str:
    with app.test_request_context("/staff/queue"):
        g.ui_language = BY_CODE[language]
        return str(queue_display.rows_html(rows, now))


def drawn_anew(app: Flask, rows: list[QueueRow], *, language: str = "en") -> str:
    """What the rows look like drawn without anything kept."""
    with app.test_request_context("/staff/queue"):
        g.ui_language = BY_CODE[language]
        return "".join(queue_display._draw("/staff/cases/", [(r, r.overdue(NOW)) for r in rows]))


def test_a_kept_row_is_the_row_drawn_anew(app: Flask) -> None:
    rows = [row(), row(id=8, reference="WXYZ6789", unread=3, assignee="Aiko")]
    first = draw(app, rows)
    assert first == draw(app, rows) == drawn_anew(app, rows)
    assert first.count("<tr ") == 2 and "/staff/cases/WXYZ-6789" in first
    assert "<strong>3</strong>" in first and "Aiko" in first


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"unread": 4}, "<strong>4</strong>"),
        ({"status": "closed"}, "Closed"),
        ({"assignee": "Bunko", "assignee_id": 3}, "Bunko"),
        ({"urgency": "P0"}, 'class="urgency-P0'),
        ({"review_state": "pending"}, "closure to review"),
        ({"categories": ("HOUSING", "WAGE_UNPAID")}, "HOUSING, WAGE_UNPAID"),
        ({"due_at": NOW + timedelta(days=2)}, "2026-06-03 12:00"),
    ],
)
def test_a_changed_row_shows_its_change(app: Flask, change: dict, shown: str) -> None:
    before = draw(app, [row()])
    assert shown not in before
    after = draw(app, [row(**change)])
    assert shown in after
    assert after == drawn_anew(app, [row(**change)])


def test_a_row_turns_overdue_when_its_time_passes(app: Flask) -> None:
    due = row(due_at=NOW + timedelta(minutes=1))
    assert "Overdue" not in draw(app, [due])
    late = draw(app, [due], now=NOW + timedelta(minutes=2))
    assert "Overdue" in late and 'class="urgency-P1 overdue"' in late


def test_texts_are_escaped(app: Flask) -> None:
    html = draw(app, [row(assignee='<script>alert("x")</script>', assignee_id=3)])
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_rows_kept_are_bounded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue_display, "KEPT_AT_MOST", 5)
    for n in range(12):
        draw(app, [row(id=n, unread=n)])
    kept = app.extensions[queue_display._KEPT]
    assert len(kept) == 5
    # The newest stay; a row pushed out is drawn again, the same.
    assert re.search(r"<strong>11</strong>", draw(app, [row(id=11, unread=11)]))
    assert draw(app, [row(id=0, unread=0)]) == drawn_anew(app, [row(id=0, unread=0)])


def test_pages_drawn_on_threads_side_by_side(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads (a threaded server) draw pages at once: every page comes out
    whole and the kept rows stay bounded while the oldest go."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(queue_display, "KEPT_AT_MOST", 20)

    def page(n: int) -> str:
        rows = [row(id=n * 10 + i, unread=n * 10 + i) for i in range(10)]
        return draw(app, rows)

    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(page, range(40)))
    for n, html in enumerate(pages):
        assert html.count("<tr ") == 10
        assert f"<strong>{n * 10 + 9}</strong>" in html
    assert len(app.extensions[queue_display._KEPT]) <= 20

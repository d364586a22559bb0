"""The queue: order, filters, keyset pagination, index use, workload."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from grievance.cases import queue
from grievance.cases.models import Case
from grievance.cases.queue import Cursor, QueueFilters, queue_page
from grievance.cases.services import format_code
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from tests.conftest import make_case, make_staff


def case_with(**fields: Any) -> Case:
    opened = {k: fields.pop(k) for k in list(fields) if k in ("language", "channel", "categories")}
    case, _ = make_case(**opened)
    for name, value in fields.items():
        setattr(case, name, value)
    commit()
    return case


def refs(page: queue.QueuePage) -> list[str]:
    return [row.reference for row in page.rows]


def test_order_is_urgency_then_due_time(app: Flask) -> None:
    with app.app_context():
        now = utcnow()
        p2_late = case_with(urgency="P2", due_at=now - timedelta(hours=1))
        p0 = case_with(urgency="P0", due_at=now + timedelta(hours=1))
        p2_soon = case_with(urgency="P2", due_at=now + timedelta(hours=2))
        p1 = case_with(urgency="P1", due_at=now + timedelta(days=1))
        page = queue_page(QueueFilters(), now=now)
        assert refs(page) == [p0.reference, p1.reference, p2_late.reference, p2_soon.reference]
        assert page.next_cursor is None
        assert page.rows[2].overdue(now) and not page.rows[3].overdue(now)


def test_closed_and_resolved_cases_leave_the_default_view(app: Flask) -> None:
    with app.app_context():
        open_case = case_with(urgency="P2")
        closed = case_with(urgency="P0", status="closed")
        resolved = case_with(urgency="P1", status="resolved")
        assert refs(queue_page(QueueFilters())) == [open_case.reference]
        assert refs(queue_page(QueueFilters(status="closed"))) == [closed.reference]
        everything = refs(queue_page(QueueFilters(status="all")))
        assert everything == [closed.reference, resolved.reference, open_case.reference]


def test_filters(app: Flask) -> None:
    with app.app_context():
        me, _ = make_staff("caseworker", "me@example.org")
        other, _ = make_staff("caseworker", "other@example.org")
        now = utcnow()
        a = case_with(
            language="id", channel="whatsapp", categories=["WAGE_UNPAID"], prefecture="23"
        )
        a.assignee_id = me.id
        b = case_with(language="vi", categories=["DOC_RETAIN"], prefecture="13", urgency="P1")
        b.assignee_id = other.id
        c = case_with(language="vi", categories=["WAGE_UNPAID", "HOUSING"], prefecture="23")
        c.due_at = now - timedelta(hours=3)
        commit()

        def only(**kw: Any) -> set[str]:
            return set(refs(queue_page(QueueFilters(**kw), me_id=me.id, now=now)))

        assert only(language="vi") == {b.reference, c.reference}
        assert only(category="WAGE_UNPAID") == {a.reference, c.reference}
        assert only(category="HOUSING") == {c.reference}
        assert only(prefecture="23") == {a.reference, c.reference}
        assert only(channel="whatsapp") == {a.reference}
        assert only(assignee="me") == {a.reference}
        assert only(assignee="unassigned") == {c.reference}
        assert only(assignee=str(other.id)) == {b.reference}
        assert only(urgency="P1") == {b.reference}
        assert only(overdue=True) == {c.reference}
        assert only(language="vi", category="WAGE_UNPAID", overdue=True) == {c.reference}
        assert only(language="ko") == set()

        # Each row carries its category codes, sorted, and its assignee's name,
        # also for an account disabled since (no longer in the menus' list).
        other.disabled = True
        d = case_with(language="th")
        rows = {row.reference: row for row in queue_page(QueueFilters(), now=now).rows}
        assert rows[c.reference].categories == ("HOUSING", "WAGE_UNPAID")
        assert rows[a.reference].categories == ("WAGE_UNPAID",)
        assert rows[d.reference].categories == ()
        assert (rows[a.reference].assignee, rows[b.reference].assignee) == ("me", "other")
        assert rows[c.reference].assignee == ""


def test_filters_from_the_url_drop_what_they_do_not_know(app: Flask) -> None:
    args = {
        "status": "nonsense",
        "urgency": "P9",
        "language": "xx",
        "category": "NOT_A_CODE",
        "prefecture": "99",
        "channel": "pigeon",
        "assignee": "1 OR 1=1",
        "overdue": "1",
    }
    filters = QueueFilters.from_args(args, {"WAGE_UNPAID"})
    assert filters == QueueFilters(overdue=True)
    good = QueueFilters.from_args(
        {"status": "referred", "category": "WAGE_UNPAID", "assignee": "7", "language": "pt-BR"},
        {"WAGE_UNPAID"},
    )
    assert good.as_args() == {
        "status": "referred",
        "category": "WAGE_UNPAID",
        "assignee": "7",
        "language": "pt-BR",
    }


def test_keyset_pages_cover_everything_once_in_order(app: Flask) -> None:
    with app.app_context():
        now = utcnow()
        made = []
        for n in range(13):
            urgency = ("P0", "P1", "P2", "P3")[n % 4]
            # Equal due times on purpose: the id breaks the tie.
            made.append(case_with(urgency=urgency, due_at=now + timedelta(hours=n // 3)))
        expected = [c.reference for c in sorted(made, key=lambda c: (c.urgency, c.due_at, c.id))]
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            page = queue_page(QueueFilters(), after=after, limit=4, now=now)
            seen.extend(refs(page))
            pages += 1
            if page.next_cursor is None:
                break
            after = Cursor.decode(page.next_cursor)
        assert seen == expected
        assert pages == 4


def test_a_case_arriving_between_pages_is_neither_lost_nor_repeated(app: Flask) -> None:
    with app.app_context():
        now = utcnow()
        for n in range(4):
            case_with(urgency="P2", due_at=now + timedelta(hours=n))
        first = queue_page(QueueFilters(), limit=2, now=now)
        # A P0 arrives: it belongs before the page we already saw.
        urgent = case_with(urgency="P0", due_at=now)
        later = case_with(urgency="P3", due_at=now)
        second = queue_page(
            QueueFilters(), after=Cursor.decode(first.next_cursor), limit=10, now=now
        )
        assert not set(refs(first)) & set(refs(second))
        assert urgent.reference not in refs(second)
        assert refs(second)[-1] == later.reference
        assert refs(queue_page(QueueFilters(), now=now))[0] == urgent.reference


def test_cursor_round_trip_and_forgeries() -> None:
    cursor = Cursor("P1", utcnow().replace(microsecond=123456), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "!!!", "UDF8MjAyNnwx", Cursor("P1", utcnow(), 1).encode()[:-3] + "zzz"):
        with pytest.raises(queue.BadCursor):
            Cursor.decode(bad)


def test_queue_rows_carry_no_sealed_data(app: Flask) -> None:
    with app.app_context():
        case_with(urgency="P1")
        row = queue_page(QueueFilters()).rows[0]
        assert not any("narrative" in name or "contact" in name for name in vars(row))


def plan(sql: str) -> str:
    rows = db.session.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
    return " | ".join(str(r[-1]) for r in rows)


def test_queue_queries_seek_the_partial_indices(app: Flask) -> None:
    """On SQLite, each per-urgency query is a search on an open-case index
    that covers the row, with no temporary sort: it stays fast however many
    cases are closed, and reads no table page."""
    with app.app_context():
        now = utcnow()
        statement = queue._page_statement(QueueFilters(language="vi"), "P1", 51, False)
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        explained = plan(str(compiled))
        assert "COVERING INDEX ix_cases_open_language" in explained, explained
        assert "TEMP B-TREE" not in explained, explained
        unfiltered = queue._page_statement(QueueFilters(overdue=True), "P0", 51, False).params(
            now=now
        )
        explained = plan(str(unfiltered.compile(db.engine, compile_kwargs={"literal_binds": True})))
        assert "COVERING INDEX ix_cases_open_queue" in explained, explained
        assert "TEMP B-TREE" not in explained, explained


def test_cases_written_to_after_closing_newest_first_from_their_index(app: Flask) -> None:
    from grievance.cases import messaging

    with app.app_context():
        older = case_with(urgency="P2")
        newer = case_with(urgency="P3")
        still_open = case_with(urgency="P1")
        for case in (older, newer):
            case.status = "resolved" if case is older else "closed"
        commit()
        assert queue.written_after_closing() == []
        for case in (older, newer, still_open):
            messaging.record_inbound(case, "web", "Hello again")
            commit()
        listed = queue.written_after_closing()
        assert [item.reference for item in listed] == [newer.reference, older.reference]
        assert [item.unread for item in listed] == [1, 1]
        # Each status's part is read in order from the small partial index,
        # not by walking every resolved and closed case.
        statement = queue.after_closing_statement()
        explained = plan(str(statement.compile(db.engine, compile_kwargs={"literal_binds": True})))
        assert explained.count("COVERING INDEX ix_cases_written_after_closing (status=?)") == 2
        assert "TEMP B-TREE" not in explained, explained


def test_workload_counts_open_cases_per_person(app: Flask) -> None:
    with app.app_context():
        me, _ = make_staff("caseworker", "me@example.org")
        now = utcnow()
        for urgency in ("P0", "P2", "P2"):
            case_with(urgency=urgency, assignee_id=me.id, due_at=now + timedelta(hours=1))
        case_with(urgency="P1", assignee_id=me.id, due_at=now - timedelta(hours=1))
        case_with(urgency="P3", status="closed", assignee_id=me.id)
        case_with(urgency="P3")
        lines = {line.staff_id: line for line in queue.workload(now)}
        mine = lines[me.id]
        assert mine.by_urgency == {"P0": 1, "P1": 1, "P2": 2}
        assert mine.total == 4 and mine.overdue == 1
        assert lines[None].total == 1
        assert queue.workload(now)[0].staff_id is None  # the pool first


def test_the_queue_page_writes_each_row_escaped_with_its_marks(
    app: Flask, client: Any, auth: Any
) -> None:
    with app.app_context():
        _me, secret = make_staff("caseworker", "me@example.org")
        named, _ = make_staff("caseworker", "named@example.org")
        named.display_name = '<b>Tanaka & "Co"</b>'
        now = utcnow()
        late = case_with(
            urgency="P1",
            due_at=now - timedelta(hours=2),
            assignee_id=named.id,
            review_state="pending",
            unread_count=3,
        )
        calm = case_with(urgency="P3", due_at=now + timedelta(days=3))
        late_ref, calm_ref = late.reference, calm.reference
    auth.login("me@example.org", secret)
    page = client.get("/staff/queue").get_data(as_text=True)
    late_row = next(r for r in page.split("<tr") if format_code(late_ref) in r)
    calm_row = next(r for r in page.split("<tr") if format_code(calm_ref) in r)
    # The name is written as text, never as markup.
    assert "<b>Tanaka" not in page
    assert "&lt;b&gt;Tanaka &amp; &#34;Co&#34;&lt;/b&gt;" in late_row
    assert late_row.startswith(' class="urgency-P1 overdue">')
    assert f'<a href="/staff/cases/{format_code(late_ref)}">' in late_row
    assert '<strong class="late">Overdue</strong>' in late_row
    assert "<em>(closure to review)</em>" in late_row
    assert "<td><strong>3</strong></td>" in late_row
    assert calm_row.startswith(' class="urgency-P3">')
    assert "late" not in calm_row and "<em>" not in calm_row and "<strong>" not in calm_row
    assert "<td>—</td>" in calm_row  # nobody assigned
    # The marks in the page's language.
    page = client.get("/staff/queue", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    late_row = next(r for r in page.split("<tr") if format_code(late_ref) in r)
    assert "<em>(終結の確認待ち)</em>" in late_row and "closure to review" not in page

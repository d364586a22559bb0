"""The caseworker workspace in a real browser, end to end.

A worker's report with danger words arrives; a caseworker logs in with
password and TOTP, finds it at the top of the queue, triages it, replies,
assigns it to a colleague, and sees each step on the timeline; the worker
reads the reply on the follow-up page.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import func, select

from grievance.cases.models import Case
from grievance.extensions import commit, db
from tests.browser.conftest import NewPage, staff_login, watch
from tests.conftest import make_case

DANGER = "Anh quản lý đánh tôi mỗi ngày. Tối nay họ nhốt tôi trong phòng."
REPLY = "Chúng tôi đã đọc tin nhắn của bạn. Bạn có an toàn không?"


def a_p0_report(live_app: Flask) -> tuple[str, str, str]:
    """A web report whose words are a P0 red flag; due before anything else."""
    with live_app.app_context():
        case, receipt = make_case(
            narrative=DANGER, language="vi", urgency="P3", categories=["WAGE_UNPAID"]
        )
        assert case.urgency == "P0"  # raised at intake by the red flags
        earliest = db.session.scalar(select(func.min(Case.due_at)).where(Case.urgency == "P0"))
        case.due_at = earliest - timedelta(minutes=1)
        commit()
        return receipt.reference, receipt.secret, case.reference


def test_caseworker_handles_a_p0_case_from_queue_to_timeline(
    page: Page, new_page: NewPage, live_server: str, live_app: Flask
) -> None:
    reference, secret, _ = a_p0_report(live_app)

    # Password, then the TOTP code: the queue opens.
    staff_login(page, live_server, "caseworker1@demo.example")
    assert urlsplit(page.url).path == "/staff/queue"
    first_row = page.locator("table.queue tbody tr").first
    assert first_row.locator("td").nth(0).inner_text() == reference
    assert first_row.locator("td").nth(1).inner_text() == "P0"
    assert "urgency-P0" in (first_row.get_attribute("class") or "")

    with page.expect_navigation():
        first_row.locator("a").click()
    assert urlsplit(page.url).path == f"/staff/cases/{reference}"
    assert DANGER in page.locator(".narrative").inner_text()
    assert "Confinement" in page.locator(".flags").inner_text()

    # Triage: categories, an indicator, residence status, the employer.
    page.check("input[name='triage-categories'][value='VIOLENCE']")
    page.check("input[name='triage-categories'][value='MOVE_RESTRICT']")
    page.check("input[name='triage-indicators'][value='PSV']")
    page.select_option("select[name='triage-residence_status']", "TITP")
    page.fill("input[name='triage-employer']", "Demo Steel Works")
    with page.expect_navigation():
        page.click("#triage button[type=submit]")
    assert "Triage saved." in page.locator(".flash").inner_text()
    assert page.locator("input[name='triage-categories'][value='VIOLENCE']").is_checked()

    # Reply to the worker.
    page.fill("textarea[name='reply-body']", REPLY)
    with page.expect_navigation():
        page.click("form.reply-form button[type=submit]")
    assert "Message written to the worker." in page.locator(".flash").inner_text()
    assert REPLY in page.locator("#thread").inner_text()
    assert "Acknowledged" in page.locator(".case-state .status").inner_text()

    # Assign it to a colleague.
    page.select_option("select[name='assign-assignee']", label="Minh (demo)")
    with page.expect_navigation():
        page.click("form.assign-form button[type=submit]")
    assert "Assignment saved." in page.locator(".flash").inner_text()
    assert page.locator(".case-state .assignee").inner_text() == "Minh (demo)"

    # Every step is on the timeline, in order.
    steps = page.locator("#timeline li").all_inner_texts()
    titles = [
        "Case opened",
        "Red flag raised the urgency",
        "Triage saved",
        "Message to the worker",
        "First human reply: acknowledged",
        "Assigned",
    ]
    positions = []
    for title in titles:
        matching = [n for n, text in enumerate(steps) if title in text]
        assert matching, (title, steps)
        positions.append(matching[0])
    assert positions == sorted(positions), steps
    assigned = next(text for text in steps if "Assigned" in text)
    assert "Aiko (demo)" in assigned and "Minh (demo)" in assigned
    watch(page).assert_clean()

    # The worker opens the follow-up page with the receipt and reads the reply.
    worker = new_page(locale="vi")
    worker.goto(f"{live_server}/vi/follow-up")
    worker.fill("input[name=reference]", reference)
    worker.fill("input[name=secret]", secret)
    with worker.expect_navigation():
        worker.locator("form:has(input[name=secret]) [type=submit]").click()
    assert REPLY in worker.locator("main").inner_text()
    # Nothing of the caseworkers' own notes or names leaks to the worker.
    assert "Aiko" not in worker.content()


def test_queue_filters_in_the_browser(page: Page, live_server: str, live_app: Flask) -> None:
    reference, _, _ = a_p0_report(live_app)
    staff_login(page, live_server, "caseworker2@demo.example")
    page.select_option("select[name=language]", "vi")
    page.select_option("select[name=urgency]", "P0")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() >= 1
    for text in rows.all_inner_texts():
        assert "P0" in text and "vi" in text
    assert reference in rows.first.inner_text()
    # Look a case up by its reference, typed loosely.
    page.fill("input[name=ref]", reference.lower().replace("-", " "))
    with page.expect_navigation():
        page.click("form.lookup button[type=submit]")
    assert urlsplit(page.url).path == f"/staff/cases/{reference}"
    watch(page).assert_clean()

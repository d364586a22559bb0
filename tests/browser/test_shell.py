"""The site in a real browser: languages, direction, a report without JavaScript, staff login."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from PIL import Image
from playwright.sync_api import Page

from grievance.cases import services as case_services
from grievance.cases.queue import QueueFilters, queue_page
from grievance.i18n import BY_CODE, LANGUAGES
from tests.browser.conftest import NewPage, staff_login, watch

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_language_chooser_lists_every_language_by_its_own_name(page: Page, live_server: str):
    page.goto(f"{live_server}/")
    links = page.locator("ul.languages a")
    assert links.all_inner_texts() == [lang.endonym for lang in LANGUAGES]
    for n, lang in enumerate(LANGUAGES):
        # lang and dir on each link let the browser pick the right font and
        # direction for a name written in another script.
        assert links.nth(n).get_attribute("lang") == lang.code
        assert links.nth(n).get_attribute("dir") == lang.direction
    watch(page).assert_clean()


def test_every_language_link_opens_that_language(page: Page, live_server: str):
    for lang in LANGUAGES:
        page.goto(f"{live_server}/")
        with page.expect_navigation():
            page.locator("ul.languages a", has_text=lang.endonym).first.click()
        assert urlsplit(page.url).path.rstrip("/") == f"/{lang.code}"
        html = page.locator("html")
        assert html.get_attribute("lang") == lang.code
        assert html.get_attribute("dir") == lang.direction
        assert page.locator("main h1").is_visible()
    watch(page).assert_clean()


def test_chooser_suggests_the_browser_language_first(new_page: NewPage, live_server: str):
    page = new_page(locale="ur")
    page.goto(f"{live_server}/")
    suggested = page.locator(".suggested a")
    assert suggested.inner_text() == BY_CODE["ur"].endonym
    with page.expect_navigation():
        suggested.click()
    assert urlsplit(page.url).path.rstrip("/") == "/ur"
    watch(page).assert_clean()


def test_urdu_page_is_laid_out_right_to_left(page: Page, live_server: str):
    page.goto(f"{live_server}/ur/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    heading = page.locator("main h1")
    # What the browser rendered, not only what the markup says.
    assert heading.evaluate("el => getComputedStyle(el).direction") == "rtl"
    box, text = heading.evaluate(
        """el => {
            const range = document.createRange();
            range.selectNodeContents(el);
            const b = el.getBoundingClientRect(), t = range.getBoundingClientRect();
            return [[b.left, b.right], [t.left, t.right]];
        }"""
    )
    # The heading's text hugs the right edge of its box, as Urdu is read.
    assert abs(text[1] - box[1]) < 2
    assert text[0] - box[0] > 2
    watch(page).assert_clean()


def test_worker_pages_work_without_javascript(new_page: NewPage, live_server: str):
    page = new_page(javascript=False)
    page.goto(f"{live_server}/")
    with page.expect_navigation():
        page.locator("ul.languages a", has_text=BY_CODE["vi"].endonym).click()
    assert urlsplit(page.url).path.rstrip("/") == "/vi"
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("main h1").inner_text().strip()
    # And back to the chooser through the header link.
    with page.expect_navigation():
        page.locator("header a[href='/']").click()
    assert page.locator("ul.languages a").count() == len(LANGUAGES)
    watch(page).assert_clean()


def test_caseworker_logs_in_with_password_and_code_and_sees_the_queue(
    page: Page, live_server: str, live_app: Flask, tmp_path: Path
):
    staff_login(page, live_server, "caseworker1@demo.example")

    assert urlsplit(page.url).path == "/staff/queue"
    assert page.locator("header").get_by_text("Aiko (demo)").is_visible()
    with live_app.app_context():
        open_cases = queue_page(QueueFilters()).rows
        expected = [case.reference for case in open_cases]
        most_urgent = open_cases[0].urgency
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == len(expected) > 0
    # Most urgent first: the demo's one P0 case heads the queue.
    assert most_urgent == "P0"
    assert rows.first.locator("td").nth(1).inner_text().strip() == "P0"
    watch(page).assert_clean()

    shot = tmp_path / "queue.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(shot) as image:
        assert image.format == "PNG"
        assert image.width == 1280 and image.height >= 900
        low, high = image.convert("L").getextrema()
        assert low < high, "the screenshot is blank"


def test_the_same_account_can_log_in_again_in_one_run(new_page: NewPage, live_server: str):
    # The replay guard refuses a code's time step twice; the helper resets it.
    for _ in range(2):
        page = new_page()
        staff_login(page, live_server, "caseworker2@demo.example")
        assert urlsplit(page.url).path == "/staff/queue"
        watch(page).assert_clean()


def test_worker_reports_and_follows_up_without_javascript(
    new_page: NewPage, live_server: str, live_app: Flask
):
    page = new_page(javascript=False)
    narrative = "Browser test: the dormitory fee was taken from my pay twice."
    page.goto(f"{live_server}/en/report")
    page.check("input[name=danger][value=no]")
    with page.expect_navigation():
        page.click("form:has(input[name=danger]) [type=submit]")
    page.fill("textarea[name=narrative]", narrative)
    page.check("input[name=consent_store]")
    with page.expect_navigation():
        page.click("form:has(textarea[name=narrative]) [type=submit]")

    codes = page.locator("dl.receipt code").all_inner_texts()
    assert len(codes) == 2, "no receipt on the page"
    reference, secret = codes
    # Neither code travels in a URL.
    assert reference not in page.url and secret not in page.url
    with live_app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        assert case is not None
        assert case.narrative == narrative

    page.goto(f"{live_server}/en/follow-up")
    page.fill("input[name=reference]", reference)
    page.fill("input[name=secret]", secret)
    with page.expect_navigation():
        page.click("form:has(input[name=secret]) [type=submit]")
    assert urlsplit(page.url).path == "/en/follow-up"
    shown = page.locator("main h1 code").inner_text()
    assert case_services.normalise_code(shown) == case_services.normalise_code(reference)
    watch(page).assert_clean()

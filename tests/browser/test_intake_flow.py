"""A worker reports in their language, follows up, and talks with a caseworker.

Vietnamese, Nepali, Urdu and Burmese (typed in the legacy Zawgyi encoding),
with JavaScript on and off. The browser records every request: none may
leave for another host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page

from grievance.cases import messaging
from grievance.cases import services as case_services
from grievance.extensions import commit, db
from grievance.staff import services as staff_services
from tests.browser.conftest import NewPage, watch

# (language, what the worker types, what must be stored)
STORIES = {
    "vi": ("Công ty không trả lương làm thêm giờ. CANARY-vi", None),
    "ne": ("मालिकले तीन महिनादेखि तलब दिएको छैन। CANARY-ne", None),
    "ur": ("کمپنی نے میرا پاسپورٹ رکھ لیا ہے۔ CANARY-ur", None),
    # "My employer does not pay my wages", typed with a Zawgyi keyboard;
    # stored as Unicode.
    "my": ("ကၽြန္ေတာ္ အလုပ္ရွင္က လစာမေပးပါ CANARY-my", "ကျွန်တော် အလုပ်ရှင်က လစာမပေးပါ CANARY-my"),
}


def file_report(page: Page, base: str, lang: str, narrative: str) -> tuple[str, str]:
    page.goto(f"{base}/{lang}/report")
    page.check("input[name=danger][value=no]")
    with page.expect_navigation():
        page.click("form:has(input[name=danger]) [type=submit]")
    page.fill("textarea[name=narrative]", narrative)
    page.check("input[name=categories][value=WAGE_UNPAID]")
    page.check("input[name=consent_store]")
    with page.expect_navigation():
        page.click("form:has(textarea[name=narrative]) [type=submit]")
    codes = page.locator("dl.receipt code").all_inner_texts()
    assert len(codes) == 2, "no receipt on the page"
    assert codes[0] not in page.url and codes[1] not in page.url
    return codes[0], codes[1]


def open_follow_up(page: Page, base: str, lang: str, reference: str, secret: str) -> None:
    page.goto(f"{base}/{lang}/follow-up")
    page.fill("input[name=reference]", reference)
    page.fill("input[name=secret]", secret)
    with page.expect_navigation():
        page.click("form:has(input[name=secret]) [type=submit]")
    assert urlsplit(page.url).path == f"/{lang}/follow-up"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", list(STORIES))
def test_report_follow_up_and_conversation(
    new_page: NewPage, live_server: str, live_app: Flask, lang: str, javascript: bool
) -> None:
    page = new_page(javascript=javascript)
    typed, stored = STORIES[lang]
    typed = f"{typed} {'js' if javascript else 'nojs'}"
    stored = f"{stored or STORIES[lang][0]} {'js' if javascript else 'nojs'}"
    reference, secret = file_report(page, live_server, lang, typed)
    assert page.locator("html").get_attribute("lang") == lang
    if lang == "ur":
        assert page.locator("html").get_attribute("dir") == "rtl"

    with live_app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        assert case is not None and case.language == lang
        assert case.narrative == stored
        caseworker = staff_services.find_by_email("caseworker1@demo.example")
        messaging.send_to_worker(case, f"Caseworker answer for {lang}", caseworker)
        commit()

    open_follow_up(page, live_server, lang, reference, secret)
    assert page.locator("main h1 code").inner_text().replace("-", "") == reference.replace("-", "")
    assert f"Caseworker answer for {lang}" in page.locator("main").inner_text()

    page.fill("textarea[name=body]", f"Worker reply {lang} {javascript}")
    with page.expect_navigation():
        page.click("form:has(textarea[name=body]) [type=submit]")
    assert f"Worker reply {lang} {javascript}" in page.locator("main").inner_text()
    with live_app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        assert any(
            m.direction == "in" and m.body == f"Worker reply {lang} {javascript}"
            for m in case.messages
        )
        db.session.remove()
    problems = watch(page)
    assert problems.external_requests == []
    problems.assert_clean()

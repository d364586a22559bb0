"""From report to remedy in the browser: consent, referral, the advisor portal,
resolution and the worker's feedback.

The worker reports through the web form, withdraws a consent on the
follow-up page, reads the outcome there and answers the survey.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Page

from grievance.cases import consent, resolution
from grievance.cases import services as case_services
from grievance.cases.models import Referral
from grievance.extensions import commit, db
from tests.browser.conftest import NewPage, staff_login, watch

NARRATIVE = "CANARY-referral: the farm has not paid me for three months."
NAME = "CANARY Tran Thi B"
PHONE = "+819033334444"
UNION = "U-DEMO-KANTO"
UNION_NAME = "DEMO Kanto Example General Union"


def file_report(page: Page, base: str) -> tuple[str, str]:
    page.goto(f"{base}/vi/report")
    page.check("input[name=danger][value=no]")
    with page.expect_navigation():
        page.click("form:has(input[name=danger]) [type=submit]")
    page.fill("textarea[name=narrative]", NARRATIVE)
    page.check("input[name=categories][value=WAGE_UNPAID]")
    page.check("input[name=consent_store]")
    with page.expect_navigation():
        page.click("form:has(textarea[name=narrative]) [type=submit]")
    codes = page.locator("dl.receipt code").all_inner_texts()
    assert len(codes) == 2
    return codes[0], codes[1]


def prepare_case(app: Flask, reference: str, secret: str) -> str:
    """What triage would have recorded: place, status, a name and number."""
    with app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        assert case is not None
        case.prefecture = "13"
        case.residence_status = "TITP"
        case.status = "acknowledged"
        case.contact = json.dumps({"name": NAME, "phone": PHONE})
        commit()
        code = case.reference
        db.session.remove()
        return code


def record_spoken_consent(page: Page, scope: str, partner_id: str) -> None:
    page.click("summary:has-text('Record consent the worker gave in conversation')")
    page.select_option("#spoken-scope", scope)
    page.select_option("#spoken-partner", partner_id)
    with page.expect_navigation():
        page.click("form:has(#spoken-scope) [type=submit]")
    assert page.locator(".flash.info").count() == 1, page.locator("main").inner_text()[:500]


def test_referral_advisor_portal_resolution_and_feedback(
    new_page: NewPage, live_server: str, live_app: Flask
) -> None:
    worker = new_page(javascript=False)
    reference, secret = file_report(worker, live_server)
    code = prepare_case(live_app, reference, secret)

    # The caseworker records the worker's consent and refers to the union.
    caseworker = staff_login(new_page(), live_server, "caseworker1@demo.example")
    caseworker.goto(f"{live_server}/staff/cases/{code}")
    suggestion = caseworker.locator(f"#suggestion-{UNION}")
    assert "Handles WAGE_UNPAID" in suggestion.inner_text()
    union_id = suggestion.locator("input[name=partner_id]").get_attribute("value") or ""
    record_spoken_consent(caseworker, "share_narrative", union_id)
    record_spoken_consent(caseworker, "share_identity", union_id)
    suggestion = caseworker.locator(f"#suggestion-{UNION}")
    for name in ("narrative", "identity", "contact"):
        suggestion.locator(f"input[name=fields][value={name}]").check()
    with caseworker.expect_navigation():
        suggestion.locator("[type=submit]").click()
    assert "Referral sent" in caseworker.locator(".flash.info").inner_text()
    with live_app.app_context():
        referral = db.session.query(Referral).order_by(Referral.id.desc()).first()
        assert referral is not None and referral.shared_fields == [
            "narrative",
            "identity",
            "contact",
        ]
        referral_id = referral.id
        # The e-mail to the partner: a link, no case data.
        mails = [
            body
            for _id, kind, recipient, body in live_app.extensions["grievance.console"].sent
            if kind == "email" and recipient == "intake@u-demo-kanto.demo.invalid"
        ]
        db.session.remove()
    link = f"{live_server}/advisor/referrals/{referral_id}"
    assert any(link in body for body in mails)
    assert not any(NARRATIVE in body or NAME in body or code in body for body in mails)

    # The union's advisor follows the link and sees what the worker agreed to.
    union = staff_login(new_page(), live_server, "advisor.union@demo.example")
    listing = union.locator("main").inner_text()
    assert f"Open referral {referral_id}" in listing
    union.goto(link)
    shared = union.locator("#shared").inner_text()
    assert NARRATIVE in shared and NAME in shared and PHONE in shared

    # The lawyers' advisor: not in the list, and 404 on its address.
    lawyers = staff_login(new_page(), live_server, "advisor.law@demo.example")
    assert f"Open referral {referral_id}" not in lawyers.locator("main").inner_text()
    assert lawyers.locator(f"a[href='/advisor/referrals/{referral_id}']").count() == 0
    response = lawyers.goto(link)
    assert response is not None and response.status == 404
    assert NARRATIVE not in lawyers.content()

    # The union accepts, posts an update and records the outcome.
    with union.expect_navigation():
        union.click("button[name=accept]")
    union.fill("textarea[name=update-body]", "We wrote to the farm about the wages.")
    with union.expect_navigation():
        union.click("button[name=post_update]")
    union.select_option("select[name=outcome]", "wages_recovered")
    union.fill("input[name=amount_yen]", "320000")
    with union.expect_navigation():
        union.click("button[name=record_outcome]")
    thread = union.locator("#thread").inner_text()
    assert "We wrote to the farm about the wages." in thread
    assert "Wages recovered" in union.locator("main").inner_text()

    # The worker withdraws identity consent on the follow-up page: identity
    # and contact disappear from the advisor's view.
    with live_app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        identity = consent.covering(case, "share_identity", int(union_id))
        assert identity is not None
        identity_id = identity.id
        db.session.remove()
    worker.goto(f"{live_server}/vi/follow-up")
    worker.fill("input[name=reference]", reference)
    worker.fill("input[name=secret]", secret)
    with worker.expect_navigation():
        worker.click("form:has(input[name=secret]) [type=submit]")
    with worker.expect_navigation():
        worker.click(f"form:has(input[name=consent_id][value='{identity_id}']) button")
    with live_app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        assert consent.covering(case, "share_identity", int(union_id)) is None
        db.session.remove()
    union.reload()
    shared = union.locator("#shared").inner_text()
    assert NARRATIVE in shared
    assert NAME not in shared and PHONE not in shared
    assert union.locator("#shared-identity").count() == 0
    assert union.locator("#shared-contact").count() == 0

    # The caseworker sees the partner's outcome and resolves the case.
    # (Without the fragment: a fragment change alone would not reload the page.)
    caseworker.goto(f"{live_server}/staff/cases/{code}")
    assert "Wages recovered" in caseworker.locator(f"#referral-{referral_id}").inner_text()
    caseworker.select_option("#resolve-outcome", "wages_recovered")
    caseworker.fill("#resolve-amount", "320000")
    caseworker.fill("#resolve-summary", "The farm paid the arrears after the union's letter.")
    with caseworker.expect_navigation():
        caseworker.click("form:has(#resolve-outcome) [type=submit]")
    assert "Case resolved" in caseworker.locator(".flash.info").inner_text()

    # The worker, still on the follow-up page, reads the outcome.
    worker.goto(f"{live_server}/vi/follow-up")
    assert urlsplit(worker.url).path == "/vi/follow-up"
    main = worker.locator("main").inner_text()
    with live_app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        seen = resolution.worker_outcome(case)
        assert seen is not None and seen.survey_open
        db.session.remove()
    assert seen.words.split(" ")[0] in main
    assert re.search(r"320[,.\s ]?000", main)

    # ...and answers the survey on the page.
    worker.check("input[name=solved][value=yes]")
    worker.check("input[name=felt_safe][value=yes]")
    worker.check("input[name=recommend][value=yes]")
    with worker.expect_navigation():
        worker.click("form:has(input[name=solved]) [type=submit]")
    with live_app.app_context():
        case = case_services.find_by_receipt(reference, secret)
        assert case.status == "closed" and case.feedback_score == 3
        db.session.remove()
    caseworker.goto(f"{live_server}/staff/cases/{code}")
    panel = caseworker.locator("#referrals").inner_text()
    assert "Solved: yes" in panel and "felt safe: yes" in panel

    for page in (worker, caseworker, union, lawyers):
        assert watch(page).external_requests == []

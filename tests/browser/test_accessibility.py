"""Accessibility: axe-core in headless Chromium on every worker-facing page.

Vietnamese, Urdu (right to left) and Japanese. A serious or critical
violation fails the test. axe-core comes from npm (package.json); it is
evaluated through the DevTools protocol, so the page's CSP stays strict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import NewPage
from tests.browser.test_intake_flow import file_report, open_follow_up

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[dict]:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm install` (make test-browser does)")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Page, what: str) -> None:
    bad = axe_violations(page)
    assert not bad, f"{what}: " + json.dumps(bad, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("lang", ["vi", "ur", "ja"])
def test_worker_pages_have_no_serious_violations(
    new_page: NewPage, live_server: str, lang: str
) -> None:
    page = new_page(javascript=True)
    page.goto(f"{live_server}/")
    assert_accessible(page, "language chooser")
    page.goto(f"{live_server}/{lang}/")
    assert_accessible(page, "home")
    page.goto(f"{live_server}/{lang}/report")
    assert_accessible(page, "safety question")
    page.check("input[name=danger][value=yes]")
    with page.expect_navigation():
        page.click("form:has(input[name=danger]) [type=submit]")
    assert_accessible(page, "report form with emergency help")
    # A form sent with an error shows the error beside its field.
    with page.expect_navigation():
        page.click("form:has(textarea[name=narrative]) [type=submit]")
    assert_accessible(page, "report form with errors")
    reference, secret = file_report(page, live_server, lang, f"Accessibility check {lang}")
    assert_accessible(page, "receipt")
    page.goto(f"{live_server}/{lang}/follow-up")
    assert_accessible(page, "follow-up login")
    open_follow_up(page, live_server, lang, reference, secret)
    assert_accessible(page, "follow-up case page")
    page.goto(f"{live_server}/{lang}/no-such-page")
    assert_accessible(page, "error page")


def test_axe_really_finds_violations(page: Page, live_server: str) -> None:
    """The check itself works: a page stripped of its form labels fails it."""
    page.goto(f"{live_server}/vi/follow-up")
    page.evaluate("document.querySelectorAll('label').forEach(l => l.remove())")
    ids = {v["id"] for v in axe_violations(page)}
    assert "label" in ids

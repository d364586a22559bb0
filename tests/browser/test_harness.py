"""The suite's own watchers catch what they promise to catch.

A page with an inline script and style, under the application's real CSP
header, is served on the live server's origin by the browser's request
interception; the watcher must report both violations, with JavaScript on
and off. A request to another host must be recorded and never leave.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Route

from grievance.security import CSP
from tests.browser.conftest import NewPage, watch

PROBE = """<!doctype html><html><head><title>probe</title>
<style>p { color: red }</style></head>
<body><p>probe</p><script>document.title = "ran";</script>
<img alt="" src="http://outside.invalid/pixel.png"></body></html>"""


def _serve_probe(route: Route) -> None:
    route.fulfill(
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP},
        body=PROBE,
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_watch_reports_csp_violations_and_outside_requests(
    new_page: NewPage, live_server: str, javascript: bool
):
    page = new_page(javascript=javascript)
    page.route(f"{live_server}/__probe", _serve_probe)
    page.goto(f"{live_server}/__probe")
    page.wait_for_load_state("load")
    problems = watch(page)

    kinds = " ".join(problems.csp_violations)
    assert "inline style" in kinds
    if javascript:
        assert "inline script" in kinds
    # The CSP held: the inline script never ran.
    assert page.title() == "probe"
    assert problems.external_requests == ["http://outside.invalid/pixel.png"]
    with pytest.raises(AssertionError, match="csp_violations"):
        problems.assert_clean()

    # Expected here; the fixture would otherwise fail the test at teardown.
    problems.clear()
    problems.assert_clean()


def test_a_clean_page_stays_clean(page, live_server: str):
    page.goto(f"{live_server}/en/")
    assert page.locator("main h1").is_visible()
    watch(page).assert_clean()

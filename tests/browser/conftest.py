"""The browser suite: Debian's headless Chromium against the real application.

Every test under tests/browser/ is marked `browser` (run with `make
test-browser`; the unit suite leaves them out). Chromium is driven with the
`playwright` package's bundled driver, never a downloaded browser:
/usr/bin/chromium, or the path in CHROMIUM_PATH. Playwright launches it with
a fresh, throwaway profile (user-data dir) and deletes it on close.

Fixtures
--------
live_server (session)
    Base URL of the running application, e.g. "http://127.0.0.1:41234".
    One server for the whole run: the real app (`create_app`, testing
    config with the embedded defaults: in-process jobs, console channel),
    served by Werkzeug in a background thread on a free port, on a
    temporary SQLite file, schema created, reference data and the demo data
    (`grievance.seed.demo.seed_demo`) seeded. Tests share its data: add
    what you need, and do not depend on another test's leftovers.
live_app (session)
    The Flask app that live_server serves. Read or add data with
    `with live_app.app_context(): ...` (e.g. `make_case(...)` from
    tests.conftest), then look at it in the browser.
demo_accounts (session)
    {email: DemoLogin} for the seeded demo staff accounts: email, role,
    partner code, display name, password, TOTP secret, user id.
browser (session)
    The Playwright Browser (one Chromium process per run).
new_page
    Factory for a page in its own fresh context:
    `new_page(javascript=False, locale="ur")`; any further keyword goes to
    `Browser.new_context`. Closed after the test.
page
    A fresh context and page per test: JavaScript on, locale en-US,
    viewport 1280x900. Shorthand for `new_page()`.

In these contexts a request to any host but the live server is aborted
before it leaves the machine (and recorded by `watch`); the default timeout
for finding an element or a navigation is 10 seconds.

Every page from these fixtures is watched (see `watch`). The test fails at
teardown if a page met a CSP violation or an uncaught script error: those
are always bugs. Other console errors are checked where a test asks, with
`watch(page).assert_clean()`.

Helpers (import from tests.browser.conftest)
--------------------------------------------
staff_login(page, base_url, email, password=DEMO_PASSWORD)
    Logs in through the real pages (/staff/login, then /staff/2fa with the
    account's current TOTP code, computed with pyotp from the secret in
    the database). Resets the account's replay guard (last_totp_step) and
    lockout first, so one account can log in any number of times in a
    run. Returns the page, left on the account's home (queue or referrals).
demo_account(base_url, email) -> DemoLogin
    One demo account's data, read from the database.
totp_code(base_url, email) -> str
    A code the server will accept now (replay guard reset), for tests of
    the code step itself.
watch(page) -> PageProblems
    Console errors, CSP violations, uncaught script errors and requests to
    any host but the live server, collected since the page opened (or the
    last `clear()`). `assert_clean()` fails with all of them listed.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from config import TestingConfig
from grievance import create_app
from grievance.cases.models import Partner
from grievance.extensions import commit, db
from grievance.seed.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from grievance.staff import services as staff_services

if TYPE_CHECKING:
    # Imported lazily at run time: the unit suite collects this file too
    # and must not need the browser driver.
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for a loaded 2-core CI machine, short enough to fail fast.
TIMEOUT_MS = 10_000

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


# -- the application --------------------------------------------------------


@dataclass
class LiveServer:
    """The application served on 127.0.0.1 from a background thread."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


# Base URL -> server, so helpers that get only a base URL find the app.
_SERVERS: dict[str, LiveServer] = {}


@pytest.fixture(scope="session")
def _live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("live") / "grievance.sqlite3"
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
        SQLALCHEMY_ENGINE_OPTIONS={},
        JOB_RUNNER="inprocess",
        MESSAGING_BACKEND="console",
    )
    with app.app_context():
        db.create_all()
        seed_demo()
        commit()
    # Port 0: the kernel picks a free port, so parallel runs never clash.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = LiveServer(app, server, threading.Thread(target=server.serve_forever, daemon=True))
    app.config["PUBLIC_BASE_URL"] = live.url
    live.thread.start()
    _SERVERS[live.url] = live
    yield live
    _SERVERS.pop(live.url, None)
    server.shutdown()
    live.thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(_live: LiveServer) -> str:
    return _live.url


@pytest.fixture(scope="session")
def live_app(_live: LiveServer) -> Flask:
    return _live.app


def _app_for(base_url: str) -> Flask:
    try:
        return _SERVERS[base_url.rstrip("/")].app
    except KeyError:
        raise AssertionError(f"{base_url} is not a running live_server") from None


# -- demo accounts ----------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    """What a test needs to act as a demo staff member."""

    email: str
    role: str
    partner: str | None
    name: str
    password: str
    totp_secret: str
    user_id: int


def demo_account(base_url: str, email: str) -> DemoLogin:
    """One seeded demo account, with its TOTP secret read from the database."""
    with _app_for(base_url).app_context():
        user = staff_services.find_by_email(email)
        assert user is not None, f"no staff account {email}"
        partner = db.session.get(Partner, user.partner_id) if user.partner_id else None
        return DemoLogin(
            email=user.email,
            role=user.role,
            partner=partner.code if partner else None,
            name=user.display_name,
            password=DEMO_PASSWORD,
            totp_secret=user.totp_secret,
            user_id=user.id,
        )


@pytest.fixture(scope="session")
def demo_accounts(live_server: str) -> dict[str, DemoLogin]:
    return {a.email: demo_account(live_server, a.email) for a in DEMO_ACCOUNTS}


def totp_code(base_url: str, email: str) -> str:
    """A TOTP code the server accepts now.

    The server accepts each time step once (replay guard) and counts
    failures towards a lockout; both are reset here so that tests can log
    the same account in again within 30 seconds.
    """
    with _app_for(base_url).app_context():
        user = staff_services.find_by_email(email)
        assert user is not None, f"no staff account {email}"
        user.last_totp_step = 0
        user.failed_logins = 0
        user.locked_until = None
        secret = user.totp_secret
        commit()
    return pyotp.TOTP(secret).now()


def staff_login(page: Page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> Page:
    """Log in through the real login and code pages; ends on the staff home page."""
    base_url = base_url.rstrip("/")
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) [type=submit]")
    assert urlsplit(page.url).path == "/staff/2fa", f"password step failed for {email}"
    # Computed after the password step, so the code is as fresh as possible.
    page.fill("input[name=code]", totp_code(base_url, email))
    with page.expect_navigation():
        page.click("form:has(input[name=code]) [type=submit]")
    path = urlsplit(page.url).path
    assert path in ("/staff/queue", "/advisor/referrals"), f"code step failed for {email}: {path}"
    return page


# -- problems on a page -----------------------------------------------------


@dataclass
class PageProblems:
    """What went wrong on a page, as the browser saw it."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium reports CSP violations as console errors, with or without
        # JavaScript; the policy's name is in every such message.
        if "Content Security Policy" in message.text:
            self.csp_violations.append(f"{message.location.get('url', '')}: {message.text}")
        else:
            self.console_errors.append(f"{message.location.get('url', '')}: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

    def on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.external_requests.append(request.url)

    def clear(self) -> None:
        for found in (
            self.console_errors,
            self.csp_violations,
            self.page_errors,
            self.external_requests,
        ):
            found.clear()

    def report(self) -> str:
        lines = []
        for name in ("csp_violations", "page_errors", "console_errors", "external_requests"):
            lines.extend(f"{name}: {item}" for item in getattr(self, name))
        return "\n".join(lines)

    def assert_clean(self) -> None:
        """No console error, CSP violation, script error or outside request."""
        assert not self.report(), "problems on the page:\n" + self.report()


_WATCHED: weakref.WeakKeyDictionary[Page, PageProblems] = weakref.WeakKeyDictionary()


def watch(page: Page, origin: str | None = None) -> PageProblems:
    """The problem collector of `page`, attached on first call.

    `origin` is the one host the page may load from; by default the live
    server's. Pages from the `page` and `new_page` fixtures are watched
    from the start.
    """
    problems = _WATCHED.get(page)
    if problems is None:
        if origin is None:
            assert len(_SERVERS) == 1, "watch(page, origin=...) needs the origin"
            origin = next(iter(_SERVERS))
        problems = PageProblems(origin=origin.rstrip("/"))
        page.on("console", problems.on_console)
        page.on("pageerror", problems.on_page_error)
        page.on("request", problems.on_request)
        _WATCHED[page] = problems
    return problems


# -- the browser --------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium)"
            " or set CHROMIUM_PATH",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


NewPage = Callable[..., "Page"]


@pytest.fixture
def new_page(browser: Browser, live_server: str) -> Iterator[NewPage]:
    contexts = []
    pages: list[Page] = []
    outside = re.compile("^(?!" + re.escape(live_server) + "/)")

    def make(*, javascript: bool = True, locale: str = "en-US", **options: Any) -> Page:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(java_script_enabled=javascript, locale=locale, **options)
        context.set_default_timeout(TIMEOUT_MS)
        # Nothing leaves this machine: requests to any other host are
        # recorded by `watch` and aborted here before they go out.
        context.route(outside, lambda route: route.abort("blockedbyclient"))
        contexts.append(context)
        page = context.new_page()
        watch(page, live_server)
        pages.append(page)
        return page

    yield make
    found = [(page.url, watch(page)) for page in pages]
    for context in contexts:
        context.close()
    always_bugs = [
        f"{url}\n{problem}"
        for url, problems in found
        for problem in problems.csp_violations + problems.page_errors
    ]
    assert not always_bugs, "CSP violations or script errors:\n" + "\n".join(always_bugs)


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()

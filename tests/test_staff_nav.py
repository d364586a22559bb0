"""The staff pages' menu: each role sees its own links, in the page's
language."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, url_for

from tests.conftest import make_staff


def _nav(page: str) -> list[str]:
    found = re.search(r"<nav>(.*?)</nav>", page, re.S)
    assert found is not None
    return re.findall(r'<a href="([^"]+)">', found.group(1))


def _urls(app: Flask, *endpoints: str) -> list[str]:
    with app.test_request_context():
        return [url_for(endpoint) for endpoint in endpoints]


def test_each_role_sees_its_own_menu_in_the_page_language(
    app: Flask, client: Any, auth: Any
) -> None:
    with app.app_context():
        _cw, cw_secret = make_staff("caseworker", "cw@example.org")
        _admin, admin_secret = make_staff("admin", "admin@example.org")
        _adv, adv_secret = make_staff("advisor", "adv@example.org", partner_code="L-DEMO-AOZORA")

    auth.login("cw@example.org", cw_secret)
    page = client.get("/staff/queue").get_data(as_text=True)
    assert _nav(page) == _urls(
        app, "cases.queue", "cases.workload", "referral_actions.due", "reports.dashboard"
    )
    assert ">Queue</a>" in page
    # The same menu in Japanese.
    page = client.get("/staff/queue", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert ">受付一覧</a>" in page and ">Queue</a>" not in page
    auth.logout()

    auth.login("admin@example.org", admin_secret)
    assert _nav(client.get("/staff/queue").get_data(as_text=True)) == _urls(
        app,
        "cases.queue",
        "cases.workload",
        "referral_actions.due",
        "partners.index",
        "reports.dashboard",
        "admin.index",
    )
    auth.logout()

    auth.login("adv@example.org", adv_secret)
    [referrals] = _urls(app, "advisor.referrals")
    assert _nav(client.get(referrals).get_data(as_text=True)) == [referrals]

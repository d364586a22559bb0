"""The staff pages' reference lists: reused for a short time, forgotten on a write."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, update

from grievance import reference_cache
from grievance.cases import queue as work_queue
from grievance.cases.menus import canned_replies
from grievance.cases.models import CannedResponse, Case, Category, Partner, Referral
from grievance.cases.services import format_code
from grievance.extensions import commit, db
from grievance.staff.models import StaffUser
from tests.cases.referral_helpers import build, login
from tests.conftest import AuthActions, csrf_from, make_case, make_staff


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        self.statements.append(args[2])

    def __enter__(self) -> StatementCounter:
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(db.engine, "before_cursor_execute", self)


def test_a_list_is_read_once_then_reused(app: Flask) -> None:
    with app.app_context():
        first = work_queue.category_codes()
        with StatementCounter() as counter:
            again = work_queue.category_codes()
            labels = work_queue.assignable_labels()
            labels_again = work_queue.assignable_labels()
        assert again == first and labels == labels_again
        # Categories came from the cache; the staff list was read once.
        assert [s for s in counter.statements if "categories" in s] == []
        assert len([s for s in counter.statements if "staff_users" in s]) == 1


def test_a_write_through_the_orm_is_seen_at_once(app: Flask) -> None:
    with app.app_context():
        codes = dict(work_queue.category_codes())
        assert "TEST_NEW" not in codes
        db.session.add(Category(code="TEST_NEW", name="Test category", default_urgency="P3"))
        commit()
        assert "TEST_NEW" in dict(work_queue.category_codes())

        user, _secret = make_staff("caseworker", "new.colleague@example.org")
        assert user.id in dict(work_queue.assignable_labels())
        user.disabled = True
        commit()
        assert user.id not in dict(work_queue.assignable_labels())


def test_a_list_read_between_a_write_and_its_commit_is_forgotten_at_the_commit(
    app: Flask,
) -> None:
    with app.app_context():
        category = db.session.get(Category, "WAGE_UNPAID")
        assert category is not None
        category.name = "Renamed"
        db.session.flush()
        # Meanwhile a request on another thread of this process reads the
        # rows as committed so far, and keeps them.
        reference_cache.cached("categories", lambda: (("WAGE_UNPAID", "Old name"),))
        commit()
        assert dict(work_queue.category_codes())["WAGE_UNPAID"] == "Renamed"


def test_a_bulk_update_is_seen_at_once(app: Flask) -> None:
    with app.app_context():
        db.session.add(CannedResponse(language="vi", title="Chào", body="Xin chào."))
        commit()
        assert [c.title for c in canned_replies("vi")] == ["Chào"]
        db.session.execute(update(CannedResponse).values(active=False))
        commit()
        assert canned_replies("vi") == ()


def test_another_process_sees_a_change_within_the_ttl(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write this process never saw (another worker's, or plain SQL) shows
    once the copy is older than TTL."""
    clock = [1000.0]
    monkeypatch.setattr(reference_cache.time, "monotonic", lambda: clock[0])
    with app.app_context():
        name = dict(work_queue.category_codes())["WAGE_UNPAID"]
        with db.engine.begin() as other:  # a connection outside the session
            other.execute(
                update(Category).where(Category.code == "WAGE_UNPAID").values(name="Renamed")
            )
        clock[0] += reference_cache.TTL - 1
        assert dict(work_queue.category_codes())["WAGE_UNPAID"] == name
        clock[0] += 2
        assert dict(work_queue.category_codes())["WAGE_UNPAID"] == "Renamed"


def test_the_store_stays_bounded(app: Flask) -> None:
    with app.test_request_context():
        for n in range(reference_cache.MAX_ENTRIES + 50):
            reference_cache.cached(("probe", n), lambda n=n: n)
        assert len(app.extensions["grievance.reference_cache"]) <= reference_cache.MAX_ENTRIES


def test_each_app_keeps_its_own_lists(app: Flask) -> None:
    with app.app_context():
        reference_cache.cached("probe", lambda: "first app")
    other = Flask("other")
    with other.app_context():
        assert reference_cache.cached("probe", lambda: "second app") == "second app"


@pytest.fixture
def caseworker(app: Flask, auth: AuthActions) -> StaffUser:
    with app.app_context():
        user, secret = make_staff("caseworker", "cw@example.org")
    auth.login("cw@example.org", secret)
    return user


def _assignee_menu(html: str) -> str:
    match = re.search(r'<select[^>]*name="assignee"[^>]*>(.*?)</select>', html, re.S)
    assert match
    return match.group(1)


def test_queue_menus_follow_a_new_colleague_and_the_filters(
    app: Flask, client: FlaskClient, caseworker: StaffUser
) -> None:
    page = client.get("/staff/queue").get_data(as_text=True)
    assert "Hanako" not in _assignee_menu(page)
    with app.app_context():
        user, _ = make_staff("caseworker", "hanako@example.org")
        user.display_name = "Hanako"
        commit()
        hanako = user.id
    page = client.get("/staff/queue").get_data(as_text=True)
    assert f'<option value="{hanako}">Hanako</option>' in _assignee_menu(page)
    # The kept menus mark what this request chose, not what an earlier one did.
    page = client.get(f"/staff/queue?assignee={hanako}").get_data(as_text=True)
    assert f'<option value="{hanako}" selected>Hanako</option>' in _assignee_menu(page)
    page = client.get("/staff/queue").get_data(as_text=True)
    assert "selected>Hanako" not in page
    # The menus follow the page's language too.
    page = client.get("/staff/queue", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "<legend>絞り込み</legend>" in page


def test_a_stale_menu_cannot_make_a_disabled_account_the_assignee(
    app: Flask, client: FlaskClient, caseworker: StaffUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process disabled the account: this one still offers it for a
    few seconds, and the server refuses it."""
    with app.app_context():
        case, _ = make_case()
        reference, case_id = case.reference, case.id
        user, _ = make_staff("caseworker", "leaving@example.org")
        leaving = user.id
    page = client.get(f"/staff/cases/{reference}").get_data(as_text=True)
    assert f'value="{leaving}"' in page
    with app.app_context(), db.engine.begin() as other:
        other.execute(update(StaffUser).where(StaffUser.id == leaving).values(disabled=True))
    page = client.get(f"/staff/cases/{reference}").get_data(as_text=True)
    assert f'value="{leaving}"' in page  # the copy is still fresh
    response = client.post(
        f"/staff/cases/{reference}/assign",
        data={"assign-assignee": str(leaving), "assign-csrf_token": csrf_from_assign(page)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Cases can only be assigned to active caseworkers or admins." in response.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Case, case_id).assignee_id is None  # type: ignore[union-attr]


def csrf_from_assign(html: str) -> str:
    match = re.search(r'name="assign-csrf_token" type="hidden" value="([^"]+)"', html)
    return match.group(1) if match else csrf_from(html)


def test_the_case_page_ranks_the_directory_without_reading_it(app: Flask) -> None:
    """The partner directory comes from the copy: the page suggests partners
    without a query on the partners table, and a partner switched off
    through this process's ORM leaves the suggestions at once."""
    world = build(app)
    client = login(app, "cw@example.org", world.caseworker_secret)
    url = f"/staff/cases/{format_code(world.reference)}"
    assert client.get(url).status_code == 200  # fills this process's copies
    with app.app_context(), StatementCounter() as counter:
        page = client.get(url).get_data(as_text=True)
    assert 'id="suggestion-U-DEMO-KANTO"' in page
    assert f'<option value="{world.union_id}">' in page  # the partner menus
    assert [s for s in counter.statements if re.search(r"FROM partners\b", s)] == []
    with app.app_context():
        union = db.session.get(Partner, world.union_id)
        assert union is not None
        union.active = False
        commit()
    page = client.get(url).get_data(as_text=True)
    assert 'id="suggestion-U-DEMO-KANTO"' not in page
    assert f'<option value="{world.union_id}">' not in page


def test_a_stale_directory_cannot_refer_to_a_partner_switched_off(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process switched the partner off: this one still suggests it
    for a few seconds, and the server refuses the referral."""
    world = build(app)
    client = login(app, "cw@example.org", world.caseworker_secret)
    url = f"/staff/cases/{format_code(world.reference)}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="suggestion-U-DEMO-KANTO"' in page
    with app.app_context(), db.engine.begin() as other:
        other.execute(update(Partner).where(Partner.id == world.union_id).values(active=False))
    page = client.get(url).get_data(as_text=True)
    assert 'id="suggestion-U-DEMO-KANTO"' in page  # the copy is still fresh
    form = page[page.index('id="suggestion-U-DEMO-KANTO"') :]
    action = re.search(r'<form method="post" action="([^"]+)"', form)
    assert action is not None
    response = client.post(
        action.group(1),
        data={"partner_id": str(world.union_id), "csrf_token": csrf_from(page)},
        follow_redirects=True,
    )
    assert "Choose an active partner from the directory." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Referral).count() == 0


def test_the_referral_menus_are_drawn_once_per_language(app: Flask) -> None:
    """The scope and partner menus are kept per language: a second panel
    reuses them, another language has its own, translated."""
    from grievance import i18n
    from grievance.cases.referral_views import referral_menus

    build(app)
    drawn: dict[str, Any] = {}
    for code in ("en", "ja", "en"):
        with app.test_request_context("/staff/queue"):
            app.preprocess_request()  # the staff pages' catalog
            i18n.set_language(code)
            menus = referral_menus()
            if code in drawn:
                assert menus is drawn[code]
            drawn[code] = menus
    assert drawn["en"] is not drawn["ja"]
    assert "may inform immigration" in drawn["en"].partners_warned
    assert "may inform immigration" not in drawn["ja"].partners_warned
    assert "may inform immigration" not in drawn["en"].partners
    assert drawn["en"].partners.count("<option ") == drawn["ja"].partners.count("<option ") > 5

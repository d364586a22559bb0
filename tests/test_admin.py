"""Admin pages: admins only, CSRF on every form, every change audited
without personal data, and each change doing what it says."""

from __future__ import annotations

import json
import re

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grievance.cases import settings
from grievance.cases.models import CannedResponse, CaseEvent, Category
from grievance.extensions import db
from grievance.staff import services
from grievance.staff.models import StaffUser
from tests.conftest import AuthActions, csrf_from, make_staff

ADMIN_PAGES = (
    "/admin/",
    "/admin/staff",
    "/admin/on-call",
    "/admin/categories",
    "/admin/languages",
    "/admin/canned",
    "/admin/canned/new",
    "/admin/settings",
)


@pytest.fixture
def admin(app: Flask, auth: AuthActions) -> int:
    """A logged-in admin (English pages); returns the admin's id."""
    auth.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        user, secret = make_staff("admin", "admin@example.org")
        admin_id = user.id
    assert auth.login("admin@example.org", secret).status_code == 302
    return admin_id


def events(kind: str) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.kind == kind)))


def post(client: FlaskClient, page: str, path: str | None = None, **data: object):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(page).data)
    return client.post(path or page, data={"csrf_token": token, **data})


def test_only_admins_reach_the_admin_pages(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 302, path  # the login page
    with app.app_context():
        _, secret = make_staff("caseworker", "cw@example.org")
    auth.login("cw@example.org", secret)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/admin/staff/1/disable").status_code in (400, 403)
    assert client.post("/admin/settings", data={"retention_days": "30"}).status_code in (400, 403)
    with app.app_context():
        assert settings.get_value(settings.RETENTION_DAYS) is None


def test_every_admin_page_renders_in_both_languages(admin: int, client: FlaskClient) -> None:
    for path in ADMIN_PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script" not in page.data.decode() and "style=" not in page.data.decode()
    assert b"/admin/partners" in client.get("/admin/").data
    with client.session_transaction() as session:
        session["staff_lang"] = "ja"
    assert b'lang="ja"' in client.get("/admin/").data


def test_forms_without_csrf_are_refused(app: Flask, admin: int, client: FlaskClient) -> None:
    with app.app_context():
        target, _ = make_staff("caseworker", "cw@example.org")
        target_id = target.id
    assert client.post(f"/admin/staff/{target_id}/disable").status_code == 400
    assert client.post("/admin/settings", data={"retention_days": "45"}).status_code == 400
    assert (
        client.post("/admin/staff", data={"email": "x@example.org", "role": "admin"}).status_code
        == 400
    )
    with app.app_context():
        assert not db.session.get(StaffUser, target_id).disabled  # type: ignore[union-attr]
        assert services.find_by_email("x@example.org") is None


def test_creating_an_account_shows_its_secrets_once(
    app: Flask, admin: int, client: FlaskClient
) -> None:
    response = post(
        client,
        "/admin/staff",
        email="New.Worker@Example.org",
        role="caseworker",
        display_name="Hana",
        partner="",
    )
    assert response.status_code == 200
    html = response.data.decode()
    password = re.search(r"One-time password</dt><dd><code>([^<]+)</code>", html)
    secret = re.search(r"Two-factor secret \(TOTP\)</dt><dd><code>([A-Z2-7]+)</code>", html)
    assert password and secret
    assert "no-store" in response.headers["Cache-Control"]
    # Nowhere else afterwards: not on the list, not in the audit trail.
    listing = client.get("/admin/staff").data.decode()
    assert password.group(1) not in listing and secret.group(1) not in listing
    with app.app_context():
        user = services.find_by_email("new.worker@example.org")
        assert user is not None and user.role == "caseworker"
        assert services.check_password(user, password.group(1)) is services.LoginResult.OK
        assert pyotp.TOTP(secret.group(1)).now() == services.current_code(user)
        (event,) = events("admin.staff_created")
        assert event.actor_id == admin
        assert event.detail == {"staff_id": user.id, "role": "caseworker", "partner_id": None}
        assert "example.org" not in json.dumps(event.detail)


def test_account_creation_errors_keep_the_form(app: Flask, admin: int, client: FlaskClient) -> None:
    duplicate = post(
        client, "/admin/staff", email="admin@example.org", role="caseworker", partner=""
    )
    assert duplicate.status_code == 400 and b"exists already" in duplicate.data
    advisor = post(client, "/admin/staff", email="adv@example.org", role="advisor", partner="")
    assert advisor.status_code == 400 and b"belongs to a partner" in advisor.data
    ok = post(
        client, "/admin/staff", email="adv@example.org", role="advisor", partner="L-DEMO-AOZORA"
    )
    assert ok.status_code == 200
    with app.app_context():
        user = services.find_by_email("adv@example.org")
        assert user is not None and user.partner_id is not None


def test_disabling_an_account_ends_its_sessions(
    app: Flask, admin: int, client: FlaskClient
) -> None:
    with app.app_context():
        target, secret = make_staff("caseworker", "cw@example.org")
        target_id = target.id
    other = app.test_client()
    AuthActions(other, app).login("cw@example.org", secret)
    assert other.get("/staff/queue").status_code == 200
    response = post(client, "/admin/staff", f"/admin/staff/{target_id}/disable")
    assert response.status_code == 302
    # The caseworker's live session is dead on the server.
    assert other.get("/staff/queue").status_code == 302
    with app.app_context():
        user = db.session.get(StaffUser, target_id)
        assert user is not None and user.disabled
        assert [e.detail for e in events("admin.staff_disabled")] == [{"staff_id": target_id}]
    post(client, "/admin/staff", f"/admin/staff/{target_id}/enable")
    with app.app_context():
        assert not db.session.get(StaffUser, target_id).disabled  # type: ignore[union-attr]


def test_an_admin_cannot_disable_themself(app: Flask, admin: int, client: FlaskClient) -> None:
    response = post(client, "/admin/staff", f"/admin/staff/{admin}/disable")
    assert response.status_code == 302
    assert b"your own account" in client.get("/admin/staff").data
    with app.app_context():
        assert not db.session.get(StaffUser, admin).disabled  # type: ignore[union-attr]


def test_resetting_two_factor_forces_a_new_enrolment(
    app: Flask, admin: int, client: FlaskClient
) -> None:
    with app.app_context():
        target, secret = make_staff("caseworker", "cw@example.org")
        target_id = target.id
    other = app.test_client()
    AuthActions(other, app).login("cw@example.org", secret)
    post(client, "/admin/staff", f"/admin/staff/{target_id}/reset-2fa")
    assert other.get("/staff/queue").status_code == 302
    with app.app_context():
        user = db.session.get(StaffUser, target_id)
        assert user is not None and not user.totp_confirmed and user.totp_secret != secret
        assert events("admin.two_factor_reset")[0].detail == {"staff_id": target_id}
    # The next login goes to enrolment, where the new secret is shown.
    step = AuthActions(other, app).password_step("cw@example.org")
    assert step.headers["Location"].endswith("/staff/2fa/enrol")


def test_on_call_list(app: Flask, admin: int, client: FlaskClient) -> None:
    with app.app_context():
        a, _ = make_staff("caseworker", "a@example.org")
        b, _ = make_staff("caseworker", "b@example.org")
        ids = (a.id, b.id)
    page = client.get("/admin/on-call")
    assert b"a@example.org"[:1] in page.data
    post(client, "/admin/on-call", on_call=[str(ids[1])])
    with app.app_context():
        on_call = set(db.session.scalars(select(StaffUser.id).where(StaffUser.on_call.is_(True))))
        assert on_call == {ids[1]}
        assert [e.detail for e in events("admin.on_call_changed")] == [
            {"staff_id": ids[1], "on_call": True}
        ]


def test_categories_can_be_disabled_and_reordered(
    app: Flask, admin: int, client: FlaskClient
) -> None:
    with app.app_context():
        rows = db.session.scalars(select(Category).order_by(Category.position)).all()
        form = {}
        for category in rows:
            if category.code != "OTHER":
                form[f"enabled-{category.code}"] = "on"
            form[f"position-{category.code}"] = str(category.position)
        form["position-WAGE_UNPAID"] = "999"
        form.pop("enabled-DOC_RETAIN")
    response = post(client, "/admin/categories", **form)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Category, "DOC_RETAIN").enabled is False  # type: ignore[union-attr]
        assert db.session.get(Category, "WAGE_UNPAID").position == 999  # type: ignore[union-attr]
        details = {e.detail["code"]: e.detail for e in events("admin.category_changed")}
        assert details["DOC_RETAIN"]["enabled"] is False
        assert details["WAGE_UNPAID"]["position"] == 999
    bad = post(client, "/admin/categories", **{**form, "position-WAGE_UNPAID": "-1"})
    assert bad.status_code == 400


def test_enabled_languages(app: Flask, admin: int, client: FlaskClient) -> None:
    with app.app_context():
        assert "vi" in settings.enabled_languages() and len(settings.enabled_languages()) == 18
    post(client, "/admin/languages", languages=["ne", "vi", "ur"])
    with app.app_context():
        assert settings.enabled_languages() == ["vi", "ne", "ur"]  # registry order
        assert events("admin.languages_changed")[0].detail == {"enabled": ["vi", "ne", "ur"]}
    assert post(client, "/admin/languages", languages=["xx"]).status_code == 400
    none = post(client, "/admin/languages")
    assert none.status_code == 302
    with app.app_context():
        assert settings.enabled_languages() == ["vi", "ne", "ur"]


def test_canned_responses_per_language(app: Flask, admin: int, client: FlaskClient) -> None:
    response = post(
        client,
        "/admin/canned/new",
        language="vi",
        title="Thanks",
        body="Cảm ơn bạn. Chúng tôi đã nhận được báo cáo.",
        position="1",
        active="y",
    )
    assert response.status_code == 302
    with app.app_context():
        canned = db.session.scalar(select(CannedResponse))
        assert canned is not None and canned.language == "vi" and canned.active
        canned_id = canned.id
        (event,) = events("admin.canned_created")
        assert event.detail == {"canned_id": canned_id, "language": "vi", "active": True}
    listing = client.get("/admin/canned?language=vi").data.decode()
    assert "Thanks" in listing
    assert "Thanks" not in client.get("/admin/canned?language=ne").data.decode()
    post(
        client,
        f"/admin/canned/{canned_id}",
        language="vi",
        title="Thanks",
        body="Cảm ơn.",
        position="2",
    )
    with app.app_context():
        canned = db.session.get(CannedResponse, canned_id)
        assert canned is not None and canned.active is False and canned.position == 2
    assert client.get("/admin/canned/9999").status_code == 404


def test_retention_period_and_public_statistics_switch(
    app: Flask, admin: int, client: FlaskClient
) -> None:
    assert client.get("/statistics").status_code == 404
    assert post(client, "/admin/settings", retention_days="10").status_code == 400
    response = post(client, "/admin/settings", retention_days="365", public_stats="y")
    assert response.status_code == 302
    with app.app_context():
        assert settings.retention_days() == 365
        assert settings.public_stats_enabled()
        assert events("admin.retention_changed")[0].detail == {"days": 365, "previous": 730}
        assert events("admin.public_stats_changed")[0].detail == {"enabled": True}
    assert client.get("/statistics").status_code == 200
    post(client, "/admin/settings", retention_days="365")
    assert client.get("/statistics").status_code == 404
    with app.app_context():
        assert len(events("admin.retention_changed")) == 1  # unchanged: no event
    commit_check = client.get("/admin/settings").data.decode()
    assert 'value="365"' in commit_check


def test_admin_changes_keep_the_audit_chain_valid(
    app: Flask, admin: int, client: FlaskClient
) -> None:
    post(client, "/admin/settings", retention_days="400")
    post(client, "/admin/languages", languages=["vi"])
    from grievance.cases.audit import verify_chain

    with app.app_context():
        assert verify_chain().ok
        for event in db.session.scalars(select(CaseEvent)):
            assert "@" not in json.dumps(event.detail)

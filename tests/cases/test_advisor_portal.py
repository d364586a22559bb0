"""The advisor portal, through the real pages: own partner only, consent only."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grievance.cases import consent, referrals
from grievance.cases.models import CaseEvent, Referral
from grievance.extensions import commit, db
from tests.cases.referral_helpers import (
    EMPLOYER,
    NAME,
    NARRATIVE,
    PHONE,
    World,
    build,
    case_of,
    caseworker,
    grant,
    login,
)
from tests.conftest import csrf_from


def refer_with_identity(app: Flask, world: World) -> int:
    with app.app_context():
        grant(world, "share_narrative", world.union_id)
        grant(world, "share_identity", world.union_id)
        referral = referrals.create_referral(
            caseworker(world),
            case_of(world),
            world.union_id,
            ["narrative", "identity", "contact", "attachments"],
        )
        commit()
        return referral.id


@pytest.fixture
def world(app: Flask) -> World:
    return build(app)


@pytest.fixture
def union(app: Flask, world: World) -> FlaskClient:
    return login(app, "union@example.org", world.union_advisor_secret)


@pytest.fixture
def lawyers(app: Flask, world: World) -> FlaskClient:
    return login(app, "law@example.org", world.lawyer_advisor_secret)


def test_the_partners_advisor_sees_the_referral_with_what_was_agreed(
    app: Flask, world: World, union: FlaskClient
) -> None:
    referral_id = refer_with_identity(app, world)
    listing = union.get("/advisor/referrals")
    assert listing.status_code == 200
    assert f"/advisor/referrals/{referral_id}".encode() in listing.data
    # The list shows no case data at all.
    for secret in (NARRATIVE, NAME, PHONE, EMPLOYER):
        assert secret.encode() not in listing.data
    page = union.get(f"/advisor/referrals/{referral_id}")
    assert page.status_code == 200
    html = page.data.decode()
    for secret in (NARRATIVE, NAME, PHONE, EMPLOYER):
        assert secret in html
    assert f"/advisor/referrals/{referral_id}/attachments/" in html
    assert page.headers["Cache-Control"] == "no-store"


def test_another_partners_advisor_gets_404_everywhere_and_sees_nothing(
    app: Flask, world: World, lawyers: FlaskClient
) -> None:
    referral_id = refer_with_identity(app, world)
    listing = lawyers.get("/advisor/referrals")
    assert listing.status_code == 200
    assert f"/advisor/referrals/{referral_id}".encode() not in listing.data
    base = f"/advisor/referrals/{referral_id}"
    assert lawyers.get(base).status_code == 404
    with app.app_context():
        uid = case_of(world).attachments[0].uid
    assert lawyers.get(f"{base}/attachments/{uid}").status_code == 404
    token = csrf_from(listing.data)
    for action in ("accept", "decline", "question", "update", "outcome"):
        response = lawyers.post(
            f"{base}/{action}",
            data={"csrf_token": token, "reason": "other", "outcome": "apology"},
        )
        assert response.status_code == 404, action
    # A referral id that does not exist looks exactly the same.
    assert lawyers.get("/advisor/referrals/999999").status_code == 404
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral is not None and referral.status == "offered"
        assert referral.updates == []


def test_withdrawing_identity_removes_identity_and_contact_at_once(
    app: Flask, world: World, union: FlaskClient
) -> None:
    referral_id = refer_with_identity(app, world)
    before = union.get(f"/advisor/referrals/{referral_id}").data.decode()
    assert NAME in before and PHONE in before
    with app.app_context():
        identity = consent.covering(case_of(world), "share_identity", world.union_id)
        assert identity is not None
        consent.withdraw_by_worker(case_of(world), identity.id)
        commit()
        uid = case_of(world).attachments[0].uid
    after = union.get(f"/advisor/referrals/{referral_id}").data.decode()
    for gone in (NAME, PHONE, EMPLOYER, "shared-identity", "shared-contact", "attachments/"):
        assert gone not in after, gone
    assert NARRATIVE in after  # the story's consent still stands
    assert "withdrew consent" in after
    assert union.get(f"/advisor/referrals/{referral_id}/attachments/{uid}").status_code == 404


def test_an_anonymous_referral_shows_facts_only(
    app: Flask, world: World, union: FlaskClient
) -> None:
    with app.app_context():
        referral = referrals.create_referral(caseworker(world), case_of(world), world.union_id, [])
        commit()
        referral_id = referral.id
    html = union.get(f"/advisor/referrals/{referral_id}").data.decode()
    for secret in (NARRATIVE, NAME, PHONE, EMPLOYER):
        assert secret not in html
    assert "Anonymous referral" in html
    assert "Unpaid wages" in html  # the category, from the directory's names


def test_every_advisor_view_is_audited_without_content(
    app: Flask, world: World, union: FlaskClient
) -> None:
    referral_id = refer_with_identity(app, world)
    union.get("/advisor/referrals")
    union.get(f"/advisor/referrals/{referral_id}")
    with app.app_context():
        uid = case_of(world).attachments[0].uid
    download = union.get(f"/advisor/referrals/{referral_id}/attachments/{uid}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4\n"
    assert "CANARY" not in download.headers["Content-Disposition"]
    with app.app_context():
        events = {
            e.kind: e
            for e in db.session.scalars(
                select(CaseEvent).where(
                    CaseEvent.kind.in_(
                        [
                            "advisor.referrals_listed",
                            "referral.viewed",
                            "referral.attachment_viewed",
                        ]
                    )
                )
            )
        }
        assert set(events) == {
            "advisor.referrals_listed",
            "referral.viewed",
            "referral.attachment_viewed",
        }
        viewed = events["referral.viewed"]
        assert viewed.case_id == world.case_id
        assert viewed.detail == {
            "referral_id": referral_id,
            "fields": ["narrative", "identity", "contact", "attachments"],
        }
        for event in events.values():
            assert NARRATIVE not in str(event.detail) and NAME not in str(event.detail)


def test_accept_update_question_and_outcome(app: Flask, world: World, union: FlaskClient) -> None:
    referral_id = refer_with_identity(app, world)
    base = f"/advisor/referrals/{referral_id}"
    token = csrf_from(union.get(base).data)
    # Updates come after accepting.
    union.post(f"{base}/update", data={"update-csrf_token": token, "update-body": "Too early"})
    assert union.post(f"{base}/accept", data={"csrf_token": token}).status_code == 303
    response = union.post(
        f"{base}/question",
        data={"question-csrf_token": token, "question-body": "Can the worker meet on Sunday?"},
    )
    assert response.status_code == 303
    union.post(
        f"{base}/update",
        data={"update-csrf_token": token, "update-body": "We wrote to the employer."},
    )
    response = union.post(
        f"{base}/outcome",
        data={
            "csrf_token": token,
            "outcome": "wages_recovered",
            "amount_yen": "250000",
            "note": "Paid in full.",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral is not None
        assert referral.status == "completed"
        assert referral.outcome == "wages_recovered"
        assert referral.outcome_amount_yen == 250000
        kinds = [u.kind for u in referral.updates]
        assert kinds == ["accept", "question", "update", "outcome"]
        assert "Too early" not in [u.body for u in referral.updates]
    page = union.get(base).data.decode()
    assert "We wrote to the employer." in page and "250,000" in page


def test_declining_needs_a_reason_and_ends_the_referral(
    app: Flask, world: World, union: FlaskClient
) -> None:
    referral_id = refer_with_identity(app, world)
    base = f"/advisor/referrals/{referral_id}"
    token = csrf_from(union.get(base).data)
    union.post(f"{base}/decline", data={"csrf_token": token, "reason": "made-up"})
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "offered"  # type: ignore[union-attr]
    union.post(
        f"{base}/decline", data={"csrf_token": token, "reason": "no_capacity", "note": "Full."}
    )
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral is not None
        assert (referral.status, referral.decline_reason) == ("declined", "no_capacity")
        assert case_of(world).status == "in_progress"  # back with the caseworker
    # A declined referral no longer shows the case.
    page = union.get(base).data.decode()
    assert NARRATIVE not in page and NAME not in page
    assert "has ended" in page


def test_actions_need_the_csrf_token(app: Flask, world: World, union: FlaskClient) -> None:
    referral_id = refer_with_identity(app, world)
    response = union.post(f"/advisor/referrals/{referral_id}/accept", data={})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "offered"  # type: ignore[union-attr]


def test_staff_of_other_roles_do_not_use_the_portal(app: Flask, world: World) -> None:
    referral_id = refer_with_identity(app, world)
    cw = login(app, "cw@example.org", world.caseworker_secret)
    assert cw.get("/advisor/referrals").status_code == 403
    assert cw.get(f"/advisor/referrals/{referral_id}").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/advisor/referrals/{referral_id}").status_code == 302


def test_advisors_never_reach_the_case_pages(app: Flask, world: World, union: FlaskClient) -> None:
    refer_with_identity(app, world)
    assert union.get(f"/staff/cases/{world.reference}").status_code == 403
    assert union.get("/staff/queue").status_code == 403
    token = csrf_from(union.get("/advisor/referrals").data)
    response = union.post(
        f"/staff/cases/{world.reference}/resolve",
        data={"csrf_token": token, "outcome": "apology"},
    )
    assert response.status_code == 403


def test_the_advisor_lands_on_the_portal_after_login(app: Flask, world: World) -> None:
    client = app.test_client()
    from tests.conftest import AuthActions

    response = AuthActions(client, app).login("union@example.org", world.union_advisor_secret)
    assert response.headers["Location"].endswith("/advisor/referrals")

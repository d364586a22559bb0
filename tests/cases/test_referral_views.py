"""The caseworker's referral panel and actions, through the real pages."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grievance.cases import partners, referrals
from grievance.cases.models import Case, CaseEvent, Consent, Referral
from grievance.cases.referral_models import Escalation
from grievance.extensions import commit, db
from tests.cases.referral_helpers import World, build, case_of, login
from tests.conftest import csrf_from


def caseworker_client(app: Flask, world: World) -> FlaskClient:
    return login(app, "cw@example.org", world.caseworker_secret)


def case_page(client: FlaskClient, world: World) -> str:
    response = client.get(f"/staff/cases/{world.reference}")
    assert response.status_code == 200
    return response.data.decode()


def test_the_case_page_shows_ranked_partners_with_reasons(app: Flask) -> None:
    world = build(app)
    client = caseworker_client(app, world)
    html = case_page(client, world)
    assert 'id="referrals"' in html
    assert "DEMO Kanto Example General Union" in html
    assert "Handles WAGE_UNPAID" in html
    assert "Speaks the worker&#39;s language (vi)" in html
    # Without consent the boxes are there but disabled.
    assert re.search(r'name="fields" value="narrative" disabled', html)


def test_the_case_page_warns_before_an_immigration_exposed_body(app: Flask) -> None:
    world = build(app, categories=["VISA_STATUS"], residence_status="ENG")
    client = caseworker_client(app, world)
    html = case_page(client, world)
    block = html[html.index('id="suggestion-G-ISA-INFO"') :]
    block = block[: block.index("</form>")]
    assert "immigration-warning" in block
    assert "may pass information to immigration enforcement" in block
    assert 'name="acknowledge_exposure"' in block


def test_consent_then_referral_through_the_page(app: Flask) -> None:
    world = build(app)
    client = caseworker_client(app, world)
    token = csrf_from(case_page(client, world))
    base = f"/staff/cases/{world.reference}"
    for scope, partner in (("share_narrative", ""), ("share_identity", str(world.union_id))):
        response = client.post(
            f"{base}/consents", data={"csrf_token": token, "scope": scope, "partner_id": partner}
        )
        assert response.status_code == 303
        assert response.headers["Location"].endswith("#referrals")
    # Identity without a partner is refused, with the reason shown.
    client.post(f"{base}/consents", data={"csrf_token": token, "scope": "share_identity"})
    html = case_page(client, world)
    assert "one named partner" in html
    response = client.post(
        f"{base}/referrals",
        data={
            "csrf_token": token,
            "partner_id": world.union_id,
            "fields": ["narrative", "identity", "contact"],
        },
    )
    assert response.status_code == 303
    with app.app_context():
        referral = db.session.scalar(select(Referral))
        assert referral is not None
        assert referral.shared_fields == ["narrative", "identity", "contact"]
        assert case_of(world).status == "referred"
        assert db.session.query(Consent).filter_by(method="spoken").count() == 2
    html = case_page(client, world)
    assert "Offered, waiting for an answer" in html


def test_a_refused_referral_says_why_and_changes_nothing(app: Flask) -> None:
    world = build(app)
    client = caseworker_client(app, world)
    token = csrf_from(case_page(client, world))
    client.post(
        f"/staff/cases/{world.reference}/referrals",
        data={"csrf_token": token, "partner_id": world.union_id, "fields": ["narrative"]},
    )
    html = case_page(client, world)
    assert "consent does not cover" in html
    with app.app_context():
        assert db.session.query(Referral).count() == 0
        assert case_of(world).status == "acknowledged"


def test_messages_to_the_advisor_check_ins_resolution_and_escalation(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        from tests.cases.referral_helpers import caseworker, grant

        referral = referrals.create_referral(caseworker(world), case_of(world), world.union_id, [])
        commit()
        referral_id = referral.id
        grant(world, "contact_employer")
    client = caseworker_client(app, world)
    token = csrf_from(case_page(client, world))
    base = f"/staff/cases/{world.reference}"
    response = client.post(
        f"{base}/referrals/{referral_id}/message",
        data={f"r{referral_id}-csrf_token": token, f"r{referral_id}-body": "Please call her."},
    )
    assert response.status_code == 303
    assert (
        client.post(f"{base}/check-in", data={"csrf_token": token, "send_message": "y"}).status_code
        == 303
    )
    response = client.post(
        f"{base}/escalations",
        data={"csrf_token": token, "platform": "jacer", "company": "CANARY Co"},
    )
    assert response.status_code == 303
    response = client.post(
        f"{base}/resolve",
        data={
            "csrf_token": token,
            "outcome": "apology",
            "summary": "Sorry letter",
            "by_dialogue": "yes",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral is not None
        assert [u.kind for u in referral.updates] == ["answer", "withdraw"]
        assert referral.status == "withdrawn"
        case = case_of(world)
        assert case.status == "resolved" and case.outcome == "apology"
        assert case.resolved_by_dialogue is True
        assert db.session.query(Escalation).count() == 1
        kinds = {e.kind for e in db.session.scalars(select(CaseEvent))}
        assert {
            "referral.answered",
            "case.check_in",
            "escalation.created",
            "case.resolved",
        } <= kinds
    html = case_page(client, world)
    assert "Apology" in html and "Close without waiting for feedback" in html
    response = client.post(f"{base}/close-resolved", data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        assert case_of(world).status == "closed"


def test_unknown_cases_and_other_cases_referrals_are_404(app: Flask) -> None:
    world = build(app)
    other = build_second_case(app)
    client = caseworker_client(app, world)
    token = csrf_from(case_page(client, world))
    assert (
        client.post("/staff/cases/NOSUCHREF/resolve", data={"csrf_token": token}).status_code == 404
    )
    with app.app_context():
        from tests.cases.referral_helpers import caseworker

        referral = referrals.create_referral(caseworker(world), case_of(world), world.union_id, [])
        commit()
        referral_id = referral.id
    response = client.post(
        f"/staff/cases/{other}/referrals/{referral_id}/withdraw", data={"csrf_token": token}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "offered"  # type: ignore[union-attr]


def build_second_case(app: Flask) -> str:
    from tests.conftest import make_case

    with app.app_context():
        case, _ = make_case(language="ne", narrative="another worker")
        case.status = "acknowledged"
        commit()
        return case.reference


def test_actions_need_the_csrf_token(app: Flask) -> None:
    world = build(app)
    client = caseworker_client(app, world)
    response = client.post(
        f"/staff/cases/{world.reference}/consents", data={"scope": "share_narrative"}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(Consent).count() == 0


def test_the_follow_ups_page_lists_what_is_due(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        from tests.cases.referral_helpers import caseworker

        referral = referrals.create_referral(caseworker(world), case_of(world), world.union_id, [])
        referral.respond_by = referral.created_at - timedelta(days=1)
        commit()
    client = caseworker_client(app, world)
    html = client.get("/staff/referrals/due").data.decode()
    assert "Partner&#39;s answer overdue" in html
    assert "DEMO Kanto Example General Union" in html
    assert f"/staff/cases/{world.reference}#referrals" in html


def test_admins_see_the_partner_link_and_caseworkers_the_follow_ups(app: Flask) -> None:
    world = build(app)
    client = caseworker_client(app, world)
    html = client.get("/staff/queue").data.decode()
    assert "/staff/referrals/due" in html and "/admin/partners" not in html


def test_the_panel_survives_a_case_with_nothing_known(app: Flask) -> None:
    world = build(app, categories=[], prefecture=None, residence_status=None)
    client = caseworker_client(app, world)
    html = case_page(client, world)
    assert "Suggested partners" in html
    with app.app_context():
        assert partners.partner_by_code("G-OTIT") is not None
        assert isinstance(db.session.get(Case, world.case_id), Case)

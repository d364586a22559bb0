"""The worker's actions on the follow-up page: consent, survey, reopening."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grievance.cases import consent, resolution
from grievance.cases.models import Case, Consent, Partner
from grievance.extensions import commit, db
from tests.conftest import csrf_from, make_staff
from tests.test_intake_web import open_follow_up, receipt_codes, submit


def _case_and_staff(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        case = db.session.scalar(select(Case))
        user, _ = make_staff("caseworker")
        partner_id = db.session.scalar(select(Partner.id).where(Partner.code == "U-DEMO-KANTO"))
        return case.id, user.id, partner_id


def _post(client: FlaskClient, path: str, **data: object):  # type: ignore[no-untyped-def]
    page = client.get("/en/follow-up")
    return client.post(path, data={"csrf_token": csrf_from(page.data), **data})


def test_worker_agrees_and_then_withdraws_consent(app: Flask, client: FlaskClient) -> None:
    reference, secret = receipt_codes(submit(client, "en").data)
    case_id, user_id, partner_id = _case_and_staff(app)
    with app.app_context():
        from grievance.staff.models import StaffUser

        request = consent.ask_consent(
            db.session.get(StaffUser, user_id),
            db.session.get(Case, case_id),
            "share_narrative",
            partner_id=partner_id,
        )
        request_id = request.id
        commit()
    open_follow_up(client, reference, secret, lang="en")
    page = client.get("/en/follow-up").data.decode()
    assert "DEMO Kanto Example General Union" in page and 'name="request_id"' in page
    assert _post(client, "/en/follow-up/consent/agree", request_id=request_id).status_code == 303
    with app.app_context():
        granted = db.session.scalar(select(Consent).where(Consent.scope == "share_narrative"))
        assert granted.method == "web_tick" and granted.withdrawn_at is None
        consent_id = granted.id
    # Another id than one of this case's consents is refused.
    assert _post(client, "/en/follow-up/consent/withdraw", consent_id=99999).status_code == 404
    response = _post(client, "/en/follow-up/consent/withdraw", consent_id=consent_id)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Consent, consent_id).withdrawn_at is not None
    assert "You took this back." in client.get("/en/follow-up").data.decode()


def test_worker_cannot_touch_another_workers_consent(app: Flask, client: FlaskClient) -> None:
    submit(client, "en")
    case_a, user_id, partner_id = _case_and_staff(app)
    with app.app_context():
        from grievance.staff.models import StaffUser

        user = db.session.get(StaffUser, user_id)
        granted = consent.record_consent(
            user,
            db.session.get(Case, case_a),
            "share_narrative",
            method="spoken",
            partner_id=partner_id,
        )
        consent_a = granted.id
        commit()
    other = app.test_client()
    reference_b, secret_b = receipt_codes(submit(other, "en").data)
    open_follow_up(other, reference_b, secret_b, lang="en")
    response = _post(other, "/en/follow-up/consent/withdraw", consent_id=consent_a)
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Consent, consent_a).withdrawn_at is None


def test_outcome_survey_and_reopen(app: Flask, client: FlaskClient) -> None:
    reference, secret = receipt_codes(submit(client, "en").data)
    case_id, user_id, _ = _case_and_staff(app)
    with app.app_context():
        from grievance.staff.models import StaffUser

        case = db.session.get(Case, case_id)
        case.status = "in_progress"
        resolution.resolve_case(
            db.session.get(StaffUser, user_id), case, "wages_recovered", amount_yen=120000
        )
        commit()
    open_follow_up(client, reference, secret, lang="en")
    page = client.get("/en/follow-up").data.decode()
    assert "Money owed to you was paid." in page and 'name="solved"' in page
    # An incomplete survey is refused with the answers kept.
    response = _post(client, "/en/follow-up/feedback", solved="partly", comment="keep me")
    assert response.status_code == 400 and "keep me" in response.data.decode()
    response = _post(
        client,
        "/en/follow-up/feedback",
        solved="partly",
        felt_safe="yes",
        recommend="no",
        comment="CANARY-feedback",
    )
    assert response.status_code == 303
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.feedback_solved == "partly" and case.feedback_felt_safe is True
        assert case.feedback_comment == "CANARY-feedback"
        assert b"CANARY" not in case.feedback_comment_ct
        assert case.status == "closed"
    page = client.get("/en/follow-up").data.decode()
    assert "Thank you. Your answers help other workers." in page
    assert not re.search(r'name="solved"', page)
    assert _post(client, "/en/follow-up/reopen").status_code == 303
    with app.app_context():
        assert db.session.get(Case, case_id).status == "in_progress"

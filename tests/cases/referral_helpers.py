"""Shared set-up for the referral tests: a case, a caseworker, two advisors."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from grievance.cases import consent
from grievance.cases.models import Attachment, Case, Partner
from grievance.extensions import commit, db
from grievance.staff.models import StaffUser
from tests.conftest import AuthActions, make_case, make_staff

NARRATIVE = "CANARY-story: the supervisor keeps my passport and my last three payslips."
NAME = "CANARY-Nguyen Van A"
PHONE = "+819011112222"
EMPLOYER = "CANARY Farm KK"
UNION = "U-DEMO-KANTO"  # takes anonymous referrals
LAWYERS = "L-DEMO-AOZORA"  # does not


@dataclass
class World:
    case_id: int
    reference: str
    secret: str
    caseworker_id: int
    caseworker_secret: str
    union_id: int
    lawyers_id: int
    union_advisor_secret: str
    lawyer_advisor_secret: str


def partner_id(code: str) -> int:
    found = db.session.query(Partner.id).filter_by(code=code).scalar()
    assert found is not None
    return found


def build(app: Flask, **case_fields: object) -> World:
    """A Tokyo wage case with a name, phone, employer and one attachment."""
    with app.app_context():
        caseworker, cw_secret = make_staff("caseworker", "cw@example.org")
        _u, union_secret = make_staff("advisor", "union@example.org", partner_code=UNION)
        _l, law_secret = make_staff("advisor", "law@example.org", partner_code=LAWYERS)
        fields = {
            "language": "vi",
            "narrative": NARRATIVE,
            "categories": ["WAGE_UNPAID", "DOC_RETAIN"],
            "prefecture": "13",
            "residence_status": "TITP",
            "urgency": "P2",
            "contact_method": "sms",
            "contact": {"name": NAME, "phone": PHONE, "safe_windows": ["evening"]},
            "intermediaries": {"employer": EMPLOYER},
        }
        fields.update(case_fields)
        case, receipt = make_case(**fields)
        attachment = Attachment(
            data_key=case.data_key, case_id=case.id, content_type="application/pdf", size=9
        )
        attachment.filename = "CANARY-payslip.pdf"
        attachment.data = b"%PDF-1.4\n"
        db.session.add(attachment)
        case.status = "acknowledged"
        commit()
        return World(
            case_id=case.id,
            reference=case.reference,
            secret=receipt.secret,
            caseworker_id=caseworker.id,
            caseworker_secret=cw_secret,
            union_id=partner_id(UNION),
            lawyers_id=partner_id(LAWYERS),
            union_advisor_secret=union_secret,
            lawyer_advisor_secret=law_secret,
        )


def case_of(world: World) -> Case:
    case = db.session.get(Case, world.case_id)
    assert case is not None
    return case


def caseworker(world: World) -> StaffUser:
    user = db.session.get(StaffUser, world.caseworker_id)
    assert user is not None
    return user


def advisor(email: str) -> StaffUser:
    user = db.session.query(StaffUser).filter_by(email=email).one()
    return user


def grant(world: World, scope: str, partner: int | None = None) -> None:
    consent.record_consent(
        caseworker(world), case_of(world), scope, method="spoken", partner_id=partner
    )
    commit()


def login(app: Flask, email: str, secret: str) -> FlaskClient:
    """A logged-in client whose staff pages are in English (tests read the words)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    AuthActions(client, app).login(email, secret)
    return client

"""Access-control matrix: every route, every kind of visitor, from the URL map.

Actors: anonymous, the worker holding receipt A, the worker holding receipt
B, a caseworker, the advisor of partner X (case A is referred to X), the
advisor of partner Y, an admin, and a staff account disabled after it had
logged in. The expected answer for each (route, actor) comes from the
table below; a route that is not in the table fails the test, so a new
route cannot ship without a decision about who may use it.

Answers are classed as:
  ok     the actor may use it (2xx, a redirect that is not to the login
         page, or 400/409 because the empty test form was incomplete)
  login  redirected to the staff login page
  deny   403 or 404
  404    404 exactly (e.g. another partner's referral: not even its existence)
  forged 403 (webhooks without a valid signature)

Every response is also checked for the security headers and cookie flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grievance.cases import consent, escalation, referrals
from grievance.cases.models import Attachment, CannedResponse, Case, CaseClock, Partner
from grievance.extensions import commit, db
from grievance.staff import services as staff_services
from grievance.staff.models import StaffUser
from tests.conftest import AuthActions, csrf_from, make_staff
from tests.test_intake_web import open_follow_up, receipt_codes, submit

ACTORS = (
    "anon",
    "worker_a",
    "worker_b",
    "caseworker",
    "advisor_x",
    "advisor_y",
    "admin",
    "disabled",
)

# Profiles: the expected class per actor.
PUBLIC = dict.fromkeys(ACTORS, "ok")
CASEWORK = {
    "anon": "login",
    "worker_a": "login",
    "worker_b": "login",
    "caseworker": "ok",
    "advisor_x": "deny",
    "advisor_y": "deny",
    "admin": "ok",
    "disabled": "login",
}
ADVISOR_OWN = {
    "anon": "login",
    "worker_a": "login",
    "worker_b": "login",
    "caseworker": "deny",
    "advisor_x": "ok",
    "advisor_y": "404",
    "admin": "deny",
    "disabled": "login",
}
ADVISOR_LIST = {**ADVISOR_OWN, "advisor_y": "ok"}
ADMIN = {
    "anon": "login",
    "worker_a": "login",
    "worker_b": "login",
    "caseworker": "deny",
    "advisor_x": "deny",
    "advisor_y": "deny",
    "admin": "ok",
    "disabled": "login",
}
WEBHOOK = dict.fromkeys(ACTORS, "forged")
# The code step needs the password step first in the same session; logging
# out ends at the login page for everyone.
TO_LOGIN = dict.fromkeys(ACTORS, "login")
EMBEDDED_ONLY = dict.fromkeys(ACTORS, "404")  # /dev/phone: absent outside the embedded default
PUBLIC_STATS_OFF = dict.fromkeys(ACTORS, "404")  # off by default

TABLE: dict[str, dict[str, str]] = {
    "GET /": PUBLIC,
    "GET /<lang>/": PUBLIC,
    "GET /<lang>/report": PUBLIC,
    "POST /<lang>/report": PUBLIC,
    "GET /<lang>/follow-up": PUBLIC,
    "POST /<lang>/follow-up": PUBLIC,
    "POST /<lang>/follow-up/reply": PUBLIC,
    "POST /<lang>/follow-up/consent/agree": PUBLIC,
    "POST /<lang>/follow-up/consent/withdraw": PUBLIC,
    "POST /<lang>/follow-up/feedback": PUBLIC,
    "POST /<lang>/follow-up/reopen": PUBLIC,
    "POST /<lang>/follow-up/leave": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /static/<path:filename>": PUBLIC,
    "GET /statistics": PUBLIC_STATS_OFF,
    "GET /dev/phone": EMBEDDED_ONLY,
    "POST /dev/phone": EMBEDDED_ONLY,
    "POST /webhooks/twilio/messages": WEBHOOK,
    "POST /webhooks/twilio/status": WEBHOOK,
    "GET /staff/login": PUBLIC,
    "POST /staff/login": PUBLIC,
    "GET /staff/2fa": TO_LOGIN,
    "POST /staff/2fa": TO_LOGIN,
    "GET /staff/2fa/enrol": TO_LOGIN,
    "POST /staff/2fa/enrol": TO_LOGIN,
    "POST /staff/language": PUBLIC,
    "POST /staff/logout": TO_LOGIN,
    "GET /staff/queue": CASEWORK,
    "GET /staff/workload": CASEWORK,
    "GET /staff/reports": CASEWORK,
    "GET /staff/reports/export.csv": CASEWORK,
    "GET /staff/referrals/due": CASEWORK,
    "GET /staff/cases/<reference>": CASEWORK,
    "GET /staff/cases/<reference>/attachments/<int:attachment_id>": CASEWORK,
    "POST /staff/cases/<reference>/assign": CASEWORK,
    "POST /staff/cases/<reference>/check-in": CASEWORK,
    "POST /staff/cases/<reference>/clocks": CASEWORK,
    "POST /staff/cases/<reference>/clocks/<int:clock_id>/done": CASEWORK,
    "POST /staff/cases/<reference>/close-resolved": CASEWORK,
    "POST /staff/cases/<reference>/consents": CASEWORK,
    "POST /staff/cases/<reference>/consents/<int:consent_id>/withdraw": CASEWORK,
    "POST /staff/cases/<reference>/consents/ask": CASEWORK,
    "POST /staff/cases/<reference>/escalations": CASEWORK,
    "POST /staff/cases/<reference>/escalations/<int:escalation_id>": CASEWORK,
    "POST /staff/cases/<reference>/notes": CASEWORK,
    "POST /staff/cases/<reference>/referrals": CASEWORK,
    "POST /staff/cases/<reference>/referrals/<int:referral_id>/message": CASEWORK,
    "POST /staff/cases/<reference>/referrals/<int:referral_id>/withdraw": CASEWORK,
    "POST /staff/cases/<reference>/reply": CASEWORK,
    "POST /staff/cases/<reference>/resolve": CASEWORK,
    "POST /staff/cases/<reference>/transition": CASEWORK,
    "POST /staff/cases/<reference>/triage": CASEWORK,
    "GET /advisor/referrals": ADVISOR_LIST,
    "GET /advisor/referrals/<int:referral_id>": ADVISOR_OWN,
    "GET /advisor/referrals/<int:referral_id>/attachments/<uid>": ADVISOR_OWN,
    "POST /advisor/referrals/<int:referral_id>/accept": ADVISOR_OWN,
    "POST /advisor/referrals/<int:referral_id>/decline": ADVISOR_OWN,
    "POST /advisor/referrals/<int:referral_id>/outcome": ADVISOR_OWN,
    "POST /advisor/referrals/<int:referral_id>/question": ADVISOR_OWN,
    "POST /advisor/referrals/<int:referral_id>/update": ADVISOR_OWN,
    "GET /admin/": ADMIN,
    "GET /admin/staff": ADMIN,
    "POST /admin/staff": ADMIN,
    "POST /admin/staff/<int:user_id>/disable": ADMIN,
    "POST /admin/staff/<int:user_id>/enable": ADMIN,
    "POST /admin/staff/<int:user_id>/reset-2fa": ADMIN,
    "GET /admin/canned": ADMIN,
    "GET /admin/canned/new": ADMIN,
    "POST /admin/canned/new": ADMIN,
    "GET /admin/canned/<int:response_id>": ADMIN,
    "POST /admin/canned/<int:response_id>": ADMIN,
    "GET /admin/categories": ADMIN,
    "POST /admin/categories": ADMIN,
    "GET /admin/languages": ADMIN,
    "POST /admin/languages": ADMIN,
    "GET /admin/on-call": ADMIN,
    "POST /admin/on-call": ADMIN,
    "GET /admin/settings": ADMIN,
    "POST /admin/settings": ADMIN,
    "GET /admin/partners": ADMIN,
    "GET /admin/partners/new": ADMIN,
    "POST /admin/partners/new": ADMIN,
    "GET /admin/partners/<int:partner_id>": ADMIN,
    "POST /admin/partners/<int:partner_id>": ADMIN,
    "GET /admin/partners/export.csv": ADMIN,
    "POST /admin/partners/import": ADMIN,
}

# Routes that end a session or change who may do what run last, in this order.
LAST = [
    "POST /staff/cases/<reference>/referrals/<int:referral_id>/withdraw",
    "POST /<lang>/follow-up/leave",
    "POST /staff/logout",
]


@dataclass
class World:
    clients: dict[str, FlaskClient]
    params: dict[str, str]


def build_world(app: Flask, client_factory: Callable[[], FlaskClient]) -> World:
    clients = {name: client_factory() for name in ACTORS}
    ref_a, secret_a = receipt_codes(submit(clients["worker_a"], "en").data)
    ref_b, secret_b = receipt_codes(submit(clients["worker_b"], "en").data)
    open_follow_up(clients["worker_a"], ref_a, secret_a, lang="en")
    open_follow_up(clients["worker_b"], ref_b, secret_b, lang="en")
    with app.app_context():
        caseworker, cw_secret = make_staff("caseworker", "cw@example.org")
        _admin, admin_secret = make_staff("admin", "admin@example.org")
        _adv_x, x_secret = make_staff("advisor", "x@example.org", partner_code="U-DEMO-KANTO")
        _adv_y, y_secret = make_staff("advisor", "y@example.org", partner_code="L-DEMO-AOZORA")
        gone, gone_secret = make_staff("caseworker", "gone@example.org")
        victim, _ = make_staff("caseworker", "victim@example.org")
        case_a = db.session.scalar(select(Case).where(Case.reference == ref_a.replace("-", "")))
        case_a.status = "in_progress"
        partner_x = db.session.scalar(select(Partner).where(Partner.code == "U-DEMO-KANTO"))
        for scope in ("share_narrative", "share_identity"):
            consent.record_consent(
                caseworker, case_a, scope, method="spoken", partner_id=partner_x.id
            )
        employer = consent.record_consent(caseworker, case_a, "contact_employer", method="spoken")
        attachment = Attachment(
            data_key=case_a.data_key, case_id=case_a.id, content_type="application/pdf", size=8
        )
        attachment.filename = "a.pdf"
        attachment.data = b"%PDF-1.4"
        db.session.add(attachment)
        db.session.flush()
        referral = referrals.create_referral(
            caseworker, case_a, partner_x.id, ["narrative", "identity", "attachments"]
        )
        esc = escalation.create_escalation(
            caseworker,
            case_a,
            escalation.PLATFORMS[0]
            if isinstance(escalation.PLATFORMS, tuple | list)
            else next(iter(escalation.PLATFORMS)),
            company="Example KK",
        )
        clock = CaseClock(case_id=case_a.id, kind="wage_claim", due_at=case_a.created_at)
        canned = CannedResponse(language="en", title="Hello", body="Hello.")
        db.session.add_all([clock, canned])
        commit()
        params = {
            "lang": "en",
            "reference": case_a.reference,
            "attachment_id": str(attachment.id),
            "uid": attachment.uid,
            "referral_id": str(referral.id),
            "consent_id": str(employer.id),
            "escalation_id": str(esc.id),
            "clock_id": str(clock.id),
            "user_id": str(victim.id),
            "response_id": str(canned.id),
            "partner_id": str(partner_x.id),
            "filename": "site.css",
        }
        gone_id = gone.id
        secrets_ = {
            "cw@example.org": cw_secret,
            "admin@example.org": admin_secret,
            "x@example.org": x_secret,
            "y@example.org": y_secret,
            "gone@example.org": gone_secret,
        }
    for actor, email in [
        ("caseworker", "cw@example.org"),
        ("admin", "admin@example.org"),
        ("advisor_x", "x@example.org"),
        ("advisor_y", "y@example.org"),
        ("disabled", "gone@example.org"),
    ]:
        response = AuthActions(clients[actor], app).login(email, secrets_[email])
        assert response.status_code == 302, (actor, response.status_code)
    with app.app_context():
        staff_services.set_disabled(db.session.get(StaffUser, gone_id), True)
        commit()
    return World(clients, params)


def classify(response) -> str:  # type: ignore[no-untyped-def]
    code = response.status_code
    location = response.headers.get("Location", "")
    if code in (301, 302, 303) and "/staff/login" in location:
        return "login"
    if code == 404:
        return "404"
    if code == 403:
        return "deny"
    if code < 400 or code in (400, 409):
        return "ok"
    return f"http {code}"


def matches(expected: str, got: str, key: str) -> bool:
    if expected == "deny":
        return got in ("deny", "404")
    if expected == "forged":
        return got == "deny"
    return expected == got


def route_keys(app: Flask) -> list[tuple[str, str, str]]:
    keys = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            keys.append((f"{method} {rule.rule}", method, rule.rule))
    return keys


def check_headers(response, key: str) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    h = response.headers
    csp = h.get("Content-Security-Policy", "")
    if "frame-ancestors 'none'" not in csp or "script-src 'self'" not in csp:
        problems.append(f"{key}: CSP {csp!r}")
    if "unsafe-inline" in csp:
        problems.append(f"{key}: unsafe-inline in CSP")
    if h.get("Referrer-Policy") != "no-referrer":
        problems.append(f"{key}: Referrer-Policy")
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{key}: nosniff")
    if not key.startswith("GET /static") and h.get("Cache-Control") != "no-store":
        problems.append(f"{key}: Cache-Control {h.get('Cache-Control')!r}")
    for cookie in h.getlist("Set-Cookie"):
        if "HttpOnly" not in cookie or "SameSite=Strict" not in cookie:
            problems.append(f"{key}: cookie flags {cookie[:40]!r}")
    return problems


def test_every_route_has_a_row(app: Flask) -> None:
    missing = sorted(k for k, _, _ in route_keys(app) if k not in TABLE)
    assert not missing, f"routes without a row in the access table: {missing}"
    stale = sorted(set(TABLE) - {k for k, _, _ in route_keys(app)})
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_access_matrix_and_headers(app: Flask) -> None:
    world = build_world(app, app.test_client)
    keys = route_keys(app)
    keys.sort(key=lambda k: (LAST.index(k[0]) if k[0] in LAST else -1, k[1] != "GET", k[0]))
    failures: list[str] = []
    header_problems: list[str] = []
    for key, method, rule in keys:
        expected = TABLE.get(key)
        if expected is None:
            continue
        path = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: world.params[m.group(1)], rule)
        for actor in ACTORS:
            client = world.clients[actor]
            if method == "GET":
                response = client.get(path)
            else:
                # A valid CSRF token for this actor's own session: what is
                # tested is authorisation, not the CSRF check.
                with client.session_transaction() as session:
                    token_page = session.get("csrf_token")
                token = csrf_from(client.get("/en/follow-up").data) if not token_page else None
                response = client.post(path, data={"csrf_token": token or _token_for(client)})
            got = classify(response)
            if not matches(expected[actor], got, key):
                failures.append(f"{key} as {actor}: expected {expected[actor]}, got {got}")
            header_problems.extend(check_headers(response, key))
    assert not failures, "\n".join(failures)
    assert not header_problems, "\n".join(sorted(set(header_problems)))


def _token_for(client: FlaskClient) -> str:
    return csrf_from(client.get("/en/follow-up").data)


def test_workers_see_only_their_own_case(app: Flask) -> None:
    world = build_world(app, app.test_client)
    reference_a = world.params["reference"]
    page_a = world.clients["worker_a"].get("/en/follow-up").data.decode()
    page_b = world.clients["worker_b"].get("/en/follow-up").data.decode()
    shown_a = re.sub(r"\W", "", re.search(r"<h1>.*?<code>([^<]+)</code>", page_a, re.S).group(1))
    assert shown_a == reference_a
    assert reference_a not in re.sub(r"\W", "", page_b)


@pytest.mark.parametrize("actor", ["advisor_y", "caseworker"])
def test_other_partner_never_sees_the_referral_in_lists(app: Flask, actor: str) -> None:
    world = build_world(app, app.test_client)
    listing = world.clients[actor].get("/advisor/referrals")
    assert f"/advisor/referrals/{world.params['referral_id']}" not in listing.data.decode()

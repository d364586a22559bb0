"""The caseworker pages over HTTP: queue, case page and every action on it.

Logins go through the real password and TOTP pages; actions post the real
forms with their CSRF tokens.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from grievance import crypto
from grievance.cases.models import Attachment, CannedResponse, Case, CaseEvent, Message
from grievance.cases.services import format_code
from grievance.cases.workspace_models import CaseParty
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.notify import outbox
from grievance.notify.models import OutboundMessage, OutboxStatus
from tests.conftest import AuthActions, csrf_from, make_case, make_staff

STORY = "CANARY-STORY: the supervisor shouts at me every day."


@pytest.fixture
def worker_case(app: Flask) -> dict[str, Any]:
    with app.app_context():
        case, _ = make_case(
            narrative=STORY,
            language="id",
            channel="sms",
            contact_method="sms",
            contact={"phone": "+819011112222", "safe_windows": ["evening"]},
            categories=["HARASS_POWER"],
            urgency="P2",
        )
        return {"id": case.id, "ref": format_code(case.reference)}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser that asks for English (staff pages default to Japanese)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def caseworker(app: Flask, auth: AuthActions) -> Any:
    with app.app_context():
        user, secret = make_staff("caseworker", "cw@example.org")
        user.display_name = "Aiko"
        commit()
        user_id = user.id
    auth.login("cw@example.org", secret)
    return user_id


def page_of(client: FlaskClient, ref: str) -> str:
    response = client.get(f"/staff/cases/{ref}")
    assert response.status_code == 200, response.status_code
    return response.data.decode()


def post(client: FlaskClient, ref: str, path: str, data: dict[str, Any], prefix: str = "") -> Any:
    html = page_of(client, ref)
    token = csrf_from(html)
    key = f"{prefix}-csrf_token" if prefix else "csrf_token"
    return client.post(f"/staff/cases/{ref}/{path}", data={key: token, **data})


def flashes(client: FlaskClient, ref: str) -> str:
    return page_of(client, ref)


def events(app: Flask, case_id: int, kind: str) -> list[CaseEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)
            )
        )


# -- access ---------------------------------------------------------------------


def test_pages_need_a_caseworker_or_admin(
    app: Flask, client: FlaskClient, auth: AuthActions, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    for path in ("/staff/queue", f"/staff/cases/{ref}", "/staff/workload"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    with app.app_context():
        _, secret = make_staff("advisor", "adv@example.org", partner_code="U-DEMO-KANTO")
    auth.login("adv@example.org", secret)
    for path in ("/staff/queue", f"/staff/cases/{ref}", "/staff/workload"):
        assert client.get(path).status_code == 403
    assert client.post(f"/staff/cases/{ref}/notes", data={}).status_code in (400, 403)
    assert events(app, worker_case["id"], "case.viewed") == []


def test_actions_need_the_csrf_token(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    response = client.post(f"/staff/cases/{ref}/reply", data={"reply-body": "hello"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Message).where(Message.direction == "out")) is None
    assert client.post(f"/staff/cases/{ref}/transition", data={}).status_code == 400


def test_unknown_reference_is_404(client: FlaskClient, caseworker: int) -> None:
    assert client.get("/staff/cases/ZZZZ-ZZZZ").status_code == 404


# -- queue ------------------------------------------------------------------------


def test_queue_shows_the_p0_first_and_no_narrative(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    with app.app_context():
        urgent, _ = make_case(narrative="They locked me in my room", language="vi")
        urgent_ref = format_code(urgent.reference)
        assert urgent.urgency == "P0"
    html = client.get("/staff/queue").data.decode()
    rows = re.findall(r"/staff/cases/([A-Z0-9-]+)\"", html)
    assert rows[0] == urgent_ref and worker_case["ref"] in rows
    assert "locked me in" not in html and "CANARY-STORY" not in html
    assert 'class="urgency-P0' in html


def test_queue_rows_show_each_change_and_the_staff_language(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    """Rows are kept once drawn (queue_display.rows_html): a case that
    changes, or a caseworker reading in another language, gets its row
    drawn anew."""

    def row_of(html: str) -> str:
        found = re.search(rf"<tr [^>]*>(?:(?!</tr>).)*{worker_case['ref']}.*?</tr>", html, re.S)
        assert found is not None
        return found.group(0)

    before = row_of(client.get("/staff/queue").data.decode())
    assert "Overdue" not in before and "<strong>5</strong>" not in before
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        case.unread_count = 5
        case.due_at = utcnow() - timedelta(hours=1)
        commit()
    after = row_of(client.get("/staff/queue").data.decode())
    assert "Overdue" in after and "<strong>5</strong>" in after
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    japanese = row_of(client.get("/staff/queue").data.decode())
    assert "期限超過" in japanese and "Overdue" not in japanese


def test_a_message_to_a_closed_case_is_listed_above_the_queue_until_read(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    """The queue shows open cases; what a worker writes to a resolved or
    closed one (retaliation after a settlement, say) is listed above it."""
    from grievance.cases import messaging

    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        case.status = "closed"
        commit()
    assert "Written after closing" not in client.get("/staff/queue").data.decode()
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        messaging.record_inbound(case, "sms", "CANARY-LATE: the boss punished me after")
        commit()
    html = client.get("/staff/queue").data.decode()
    assert "Written after closing" in html and f"/staff/cases/{worker_case['ref']}" in html
    assert "CANARY-LATE" not in html
    # Not on later pages, and gone once a caseworker has read the case.
    page_of(client, worker_case["ref"])
    assert "Written after closing" not in client.get("/staff/queue").data.decode()
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).status == "closed"


def test_queue_filters_and_lookup(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    with app.app_context():
        other, _ = make_case(language="vi")
        other_ref = format_code(other.reference)
    html = client.get("/staff/queue?language=id").data.decode()
    assert worker_case["ref"] in html and other_ref not in html
    html = client.get("/staff/queue?category=HARASS_POWER&language=id").data.decode()
    assert worker_case["ref"] in html
    html = client.get("/staff/queue?assignee=me").data.decode()
    assert "No case matches these filters." in html
    # Lookup: spacing and case do not matter.
    typed = worker_case["ref"].replace("-", " ").lower()
    response = client.get("/staff/queue", query_string={"ref": typed})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/cases/{worker_case['ref']}")
    response = client.get("/staff/queue?ref=NOPE-NOPE", follow_redirects=True)
    assert "No case has this reference." in response.data.decode()
    assert client.get("/staff/queue?after=garbage").status_code == 400


def test_queue_pages_follow_the_next_link(app: Flask, client: FlaskClient, caseworker: int) -> None:
    with app.app_context():
        for _ in range(53):
            make_case(urgency="P3")
    first = client.get("/staff/queue").data.decode()
    assert first.count("/staff/cases/") == 50
    link = re.search(r'rel="next" href="([^"]+)"', first)
    assert link
    second = client.get(link.group(1).replace("&amp;", "&")).data.decode()
    assert second.count("/staff/cases/") == 3
    assert 'rel="next"' not in second
    assert set(re.findall(r"/staff/cases/([A-Z0-9-]+)", first)).isdisjoint(
        re.findall(r"/staff/cases/([A-Z0-9-]+)", second)
    )


def test_workload_page(app: Flask, client: FlaskClient, caseworker: int, worker_case: dict) -> None:
    html = client.get("/staff/workload").data.decode()
    assert "Aiko" in html and "Unassigned" in html


# -- the case page -------------------------------------------------------------------


def test_case_page_shows_the_case_and_audits_the_view(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        case.unread_count = 2
        commit()
    response = client.get(f"/staff/cases/{worker_case['ref']}")
    html = response.data.decode()
    assert STORY in html
    assert response.headers["Cache-Control"].startswith("no-store")
    assert crypto.mask_phone("+819011112222") in html and "+819011112222" not in html
    assert "Evening (18–22)" in html
    assert "Bahasa Indonesia" in html
    viewed = events(app, worker_case["id"], "case.viewed")
    assert len(viewed) == 1 and viewed[0].actor_id == caseworker
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).unread_count == 0


def test_the_view_is_recorded_after_the_reads_and_counted_on_the_page(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    from tests.test_reference_cache import StatementCounter

    with app.app_context(), StatementCounter() as counter:
        html = page_of(client, worker_case["ref"])
    assert "Viewed 1 times." in html  # this view, though written after the count
    statements = [s.lstrip().upper() for s in counter.statements]
    audit = [i for i, s in enumerate(statements) if "AUDIT_HEAD" in s]
    reads = [i for i, s in enumerate(statements) if s.startswith("SELECT") and i not in audit]
    # The audit chain is touched once, after every read of the page (on
    # PostgreSQL its head is read, then moved with the event written).
    assert audit and min(audit) > max(reads)
    assert "Viewed 2 times." in page_of(client, worker_case["ref"])


def test_no_page_is_sent_when_its_view_cannot_be_recorded(
    app: Flask,
    client: FlaskClient,
    caseworker: int,
    worker_case: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grievance.cases import casework

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit chain is unavailable")

    monkeypatch.setattr(casework, "record_view", broken)
    response = client.get(f"/staff/cases/{worker_case['ref']}")
    assert response.status_code == 500
    assert STORY not in response.data.decode()
    assert events(app, worker_case["id"], "case.viewed") == []


def test_triage_saves_codes_and_seals_the_intermediaries(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    data = {
        "triage-categories": ["HARASS_POWER", "DOC_RETAIN"],
        "triage-indicators": ["IT", "RID"],
        "triage-urgency": "P1",
        "triage-urgency_reason": "return_imminent",
        "triage-residence_status": "TITP",
        "triage-employer": "Canary Farm 株式会社",
        "triage-supervising_org": "Canary Kumiai",
    }
    response = post(client, ref, "triage", data, prefix="triage")
    assert response.status_code == 303
    html = page_of(client, ref)
    assert "Triage saved." in html
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        assert {c.code for c in case.categories} == {"HARASS_POWER", "DOC_RETAIN"}
        assert {i.code for i in case.indicators} == {"IT", "RID"}
        assert case.urgency == "P1" and case.urgency_reason == "return_imminent"
        assert case.residence_status == "TITP"
        assert json.loads(case.intermediaries)["employer"] == "Canary Farm 株式会社"
        raw = db.session.execute(
            text("SELECT intermediaries_ct FROM cases WHERE id = :i"), {"i": case.id}
        ).scalar_one()
        assert b"Canary" not in bytes(raw)
        keys = {p.role: p.name_key for p in db.session.scalars(select(CaseParty))}
        assert set(keys) == {"employer", "supervising_org"}
        assert all(len(k) == 64 and "anary" not in k for k in keys.values())
        event = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == "case.triaged")).one()
        assert "Canary" not in json.dumps(event.detail, ensure_ascii=False)
        assert event.detail["urgency"] == ["P2", "P1"]
        assert event.detail["parties"] == ["employer", "supervising_org"]


def test_changing_urgency_without_a_reason_is_refused(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    data = {"triage-categories": ["HARASS_POWER"], "triage-urgency": "P3"}
    post(client, ref, "triage", data, prefix="triage")
    assert "Give a reason when you change the urgency." in page_of(client, ref)
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).urgency == "P2"


def test_triage_page_suggests_indicators_from_the_categories(
    client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    html = page_of(client, worker_case["ref"])
    # HARASS_POWER maps to IT and AWLC in the ILO table.
    assert "Indicators suggested by the categories: AWLC, IT." in html
    assert re.search(r'value="IT"[^>]*checked|checked[^>]*value="IT"', html)


def test_first_reply_acknowledges_and_goes_out_by_sms(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    with app.app_context():
        before = db.session.get(Case, worker_case["id"]).due_at
    response = post(client, ref, "reply", {"reply-body": "We have your report."}, prefix="reply")
    assert response.status_code == 303
    html = page_of(client, ref)
    assert "We have your report." in html
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        assert case.status == "acknowledged"
        assert case.first_response_at is not None and case.acknowledged_at is not None
        # The acknowledgement clock stopped: the next deadline is the next update.
        assert case.due_at.replace(tzinfo=None) > before.replace(tzinfo=None)
        reply = db.session.scalars(select(Message).where(Message.direction == "out")).one()
        assert reply.author_staff_id == caseworker and not reply.internal
        outbox = db.session.scalars(select(OutboundMessage)).all()
        assert [row.purpose for row in outbox] == ["reply"]
        assert outbox[0].channel == "sms"
    assert len(events(app, worker_case["id"], "case.acknowledged")) == 1
    # A second reply acknowledges nothing new.
    post(client, ref, "reply", {"reply-body": "Second message."}, prefix="reply")
    assert len(events(app, worker_case["id"], "case.acknowledged")) == 1


def test_reply_to_a_web_only_worker_waits_for_the_follow_up_page(
    app: Flask, client: FlaskClient, caseworker: int
) -> None:
    with app.app_context():
        case, _ = make_case()
        ref = format_code(case.reference)
    post(client, ref, "reply", {"reply-body": "Please come back."}, prefix="reply")
    with app.app_context():
        message = db.session.scalars(select(Message).where(Message.direction == "out")).one()
        assert message.delivery_status == "waiting"
        assert db.session.scalars(select(OutboundMessage)).all() == []


def test_canned_response_fills_the_reply(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    with app.app_context():
        canned = CannedResponse(language="id", title="Salam", body="Terima kasih, kami membaca.")
        other = CannedResponse(language="vi", title="Chào", body="Cảm ơn bạn.")
        db.session.add_all([canned, other])
        commit()
        canned_id, other_id = canned.id, other.id
    ref = worker_case["ref"]
    html = page_of(client, ref)
    assert "Salam" in html and "Chào" not in html
    html = client.get(f"/staff/cases/{ref}?canned={canned_id}").data.decode()
    assert "Terima kasih, kami membaca.</textarea>" in html
    html = client.get(f"/staff/cases/{ref}?canned={other_id}").data.decode()
    assert "Cảm ơn bạn." not in html


def test_internal_notes_are_sealed_and_staff_only(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    post(client, ref, "notes", {"note-body": "CANARY-NOTE employer called"}, prefix="note")
    html = page_of(client, ref)
    assert "CANARY-NOTE employer called" in html and "Internal note" in html
    with app.app_context():
        note = db.session.scalars(select(Message).where(Message.internal.is_(True))).one()
        raw = db.session.execute(
            text("SELECT body_ct FROM messages WHERE id = :i"), {"i": note.id}
        ).scalar_one()
        assert b"CANARY-NOTE" not in bytes(raw)
        assert db.session.scalars(select(OutboundMessage)).all() == []
        event = events(app, worker_case["id"], "case.note")[0]
        assert "CANARY" not in json.dumps(event.detail)


def test_workflow_buttons_and_a_refused_transition(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    html = page_of(client, ref)
    assert 'value="acknowledge"' in html and 'value="reopen"' not in html
    post(client, ref, "transition", {"move-action": "acknowledge"}, prefix="move")
    post(client, ref, "transition", {"move-action": "start"}, prefix="move")
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).status == "in_progress"
    # "Resume" applies to referred cases only: refused, and said so.
    post(client, ref, "transition", {"move-action": "resume"}, prefix="move")
    html = page_of(client, ref)
    assert "cannot be changed with" in html
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).status == "in_progress"
    kinds = [e.detail["to"] for e in events(app, worker_case["id"], "case.transition")]
    assert kinds == ["acknowledged", "in_progress"]


def test_urgent_no_contact_closure_needs_an_admin(
    app: Flask, client: FlaskClient, auth: AuthActions, caseworker: int
) -> None:
    with app.app_context():
        case, _ = make_case(urgency="P1")
        ref, case_id = format_code(case.reference), case.id
    data = {"move-action": "close", "move-closure_reason": "no_contact"}
    post(client, ref, "transition", data, prefix="move")
    html = page_of(client, ref)
    assert "an admin must review it first" in html
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "new" and case.review_state == "pending"
    auth.logout()
    with app.app_context():
        _, secret = make_staff("admin", "admin@example.org")
    auth.login("admin@example.org", secret)
    post(client, ref, "transition", {"move-action": "approve_close"}, prefix="move")
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "closed" and case.review_state == "approved"
        assert case.closure_reason == "no_contact" and case.closed_at is not None
    assert events(app, case_id, "case.closure_reviewed")[0].detail == {"decision": "approved"}


def test_claim_and_assign(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    with app.app_context():
        colleague, _ = make_staff("caseworker", "minh@example.org")
        advisor, _ = make_staff("advisor", "adv@example.org", partner_code="U-DEMO-KANTO")
        colleague_id, advisor_id = colleague.id, advisor.id
    post(client, ref, "assign", {"claim": "1"})
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).assignee_id == caseworker
    post(client, ref, "assign", {"assign-assignee": str(colleague_id)}, prefix="assign")
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).assignee_id == colleague_id
    # Advisors are not in the list, and a forged value is refused.
    post(client, ref, "assign", {"assign-assignee": str(advisor_id)}, prefix="assign")
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).assignee_id == colleague_id
    moves = [e.detail for e in events(app, worker_case["id"], "case.assigned")]
    assert moves == [{"from": None, "to": caseworker}, {"from": caseworker, "to": colleague_id}]
    html = page_of(client, ref)
    assert "Assigned" in html and "Aiko" in html


def test_deadlines_at_risk(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    data = {"clock-kind": "dismissal_notice", "clock-event_day": "2026-03-02"}
    post(client, ref, "clocks", data, prefix="clock")
    html = page_of(client, ref)
    clocks = html[html.index('id="clocks"') : html.index('id="thread"')]
    assert "Dismissal notice period (30 days) · 2026-04-01 00:00" in clocks
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        clock_id = case.clocks[0].id
    post(client, ref, f"clocks/{clock_id}/done", {})
    with app.app_context():
        assert db.session.get(Case, worker_case["id"]).clocks[0].done_at is not None


def test_attachments_are_served_decrypted_never_cached_and_only_with_their_case(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        item = Attachment(data_key=case.data_key, case_id=case.id, content_type="image/png", size=8)
        item.filename = "payslip-march.png"
        item.data = b"\x89PNG\r\n\x1a\nCANARY"
        other, _ = make_case()
        db.session.add(item)
        commit()
        item_id, other_ref = item.id, format_code(other.reference)
    ref = worker_case["ref"]
    assert "payslip-march.png" in page_of(client, ref)
    response = client.get(f"/staff/cases/{ref}/attachments/{item_id}")
    assert response.status_code == 200
    assert response.data == b"\x89PNG\r\n\x1a\nCANARY"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "payslip" not in response.headers["Content-Disposition"]
    assert len(events(app, worker_case["id"], "attachment.downloaded")) == 1
    # The same id under another case's reference is not found.
    assert client.get(f"/staff/cases/{other_ref}/attachments/{item_id}").status_code == 404


def test_timeline_shows_each_step(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    post(client, ref, "assign", {"claim": "1"})
    post(client, ref, "reply", {"reply-body": "Hello"}, prefix="reply")
    html = page_of(client, ref)
    timeline = html[html.index('id="timeline"') :]
    for title in ("Case opened", "Assigned", "Message to the worker", "First human reply"):
        assert title in timeline
    assert "Case viewed" not in timeline  # counted, not listed
    assert "Viewed" in timeline
    html = client.get(f"/staff/cases/{ref}?views=1").data.decode()
    assert "Case viewed" in html[html.index('id="timeline"') :]


def test_staff_language_is_per_user(client: FlaskClient, caseworker: int) -> None:
    html = client.get("/staff/queue").data.decode()
    token = csrf_from(html)
    client.post("/staff/language", data={"csrf_token": token, "lang": "ja"})
    html = client.get("/staff/queue").data.decode()
    assert '<html lang="ja"' in html
    client.post("/staff/language", data={"csrf_token": token, "lang": "en"})
    assert '<html lang="en"' in client.get("/staff/queue").data.decode()


def test_staff_language_is_kept_on_the_account(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """Chosen once, the language follows the account to a new browser, whatever
    that browser asks for."""
    with app.app_context():
        _, secret = make_staff("caseworker", "kenji@example.org")
    auth.login("kenji@example.org", secret)
    token = csrf_from(client.get("/staff/queue").data.decode())
    client.post("/staff/language", data={"csrf_token": token, "lang": "ja"})
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    AuthActions(other, app).login("kenji@example.org", secret)
    assert '<html lang="ja"' in other.get("/staff/queue").data.decode()


def test_overdue_cases_are_marked(app: Flask, client: FlaskClient, caseworker: int) -> None:
    with app.app_context():
        case, _ = make_case(urgency="P1")
        case.due_at = utcnow() - timedelta(hours=2)
        commit()
    html = client.get("/staff/queue").data.decode()
    assert 'class="urgency-P1 overdue"' in html and "Overdue" in html


def test_a_long_thread_shows_the_latest_page_and_links_to_earlier_ones(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    """75 messages: the page reads the newest 30 (oldest of them first), and
    "Earlier messages" walks back 30 at a time to the first one."""
    with app.app_context():
        case = db.session.get(Case, worker_case["id"])
        for n in range(75):
            message = Message(
                data_key=case.data_key,
                case_id=case.id,
                direction="in",
                channel="sms",
                author_kind="worker",
            )
            message.body = f"Thread message number {n:03d}."
            db.session.add(message)
        commit()

    def numbers(html: str) -> list[int]:
        return [int(n) for n in re.findall(r"Thread message number (\d{3})\.", html)]

    html = page_of(client, worker_case["ref"])
    assert numbers(html) == list(range(45, 75))
    assert "30 of 75 shown." in html and "Latest messages" not in html
    seen: list[int] = numbers(html)
    while (found := re.search(r'href="([^"]*before=\d+)[^"]*"', html)) is not None:
        response = client.get(found.group(1).replace("&amp;", "&"))
        assert response.status_code == 200
        html = response.data.decode()
        assert "Latest messages" in html
        seen = numbers(html) + seen
    assert seen == list(range(75))
    # A value that is not a number is ignored: the latest page.
    response = client.get(f"/staff/cases/{worker_case['ref']}?before=x")
    assert numbers(response.data.decode()) == list(range(45, 75))


def test_a_message_that_did_not_arrive_shows_why(
    app: Flask, client: FlaskClient, caseworker: int, worker_case: dict[str, Any]
) -> None:
    ref = worker_case["ref"]
    for body in ("First.", "Second.", "Third."):
        post(client, ref, "reply", {"reply-body": body}, prefix="reply")
    with app.app_context():
        sent = db.session.scalars(
            select(Message.id).where(Message.direction == "out").order_by(Message.id)
        ).all()
        rows = [
            db.session.scalars(
                select(OutboundMessage).where(OutboundMessage.message_id == message_id)
            ).one()
            for message_id in sent
        ]
        # What the provider's delivery callbacks record (apply_provider_status).
        outbox.set_status(rows[0], OutboxStatus.UNDELIVERED, "twilio-30003")
        outbox.set_status(rows[1], OutboxStatus.FAILED, "twilio-99999")
        outbox.set_status(rows[2], OutboxStatus.HELD, "whatsapp-window")
        commit()
        held_id = rows[2].id
        assert db.session.get(Message, sent[0]).delivery_error == "twilio-30003"
    html = page_of(client, ref)
    assert "The phone was off or out of reach." in html
    assert "Provider code twilio-99999." in html
    assert "WhatsApp allows a reply only after the worker writes." in html

    # Sent after all: the old reason goes with the old status.
    with app.app_context():
        outbox.set_status(db.session.get(OutboundMessage, held_id), OutboxStatus.SENT)
        commit()
        assert db.session.get(Message, sent[2]).delivery_error is None
    assert "WhatsApp allows a reply only after the worker writes." not in page_of(client, ref)

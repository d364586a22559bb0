"""Prepare one benchmark run's requests, inside the application.

Run by bench/run.py with the benchmark's environment. It creates a
caseworker and a case with 200 messages, then writes one request file per
scenario for wrk (bench/lua/replay.lua): sessions and CSRF tokens are minted
with the app's own session serializer, Twilio requests are signed with the
twilio library, so every request is one the app accepts.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from twilio.request_validator import RequestValidator


def _cookie(app: Flask, data: dict[str, object]) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(data)}"


def _csrf_pair(app: Flask) -> tuple[str, str]:
    """A fresh session holding a CSRF token, and the token for the form."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    with app.test_request_context("/"):
        token = generate_csrf()
        return _cookie(app, dict(session)), token


def _line(method: str, path: str, headers: dict[str, str], body: str = "") -> str:
    return "\t".join([method, path, "|".join(f"{k}: {v}" for k, v in headers.items()), body])


def _ip(n: int) -> str:
    # Documentation and benchmarking ranges only (RFC 5737 / RFC 2544).
    return f"198.18.{(n // 250) % 250}.{n % 250 + 1}"


def prepare(out: Path, count: int) -> dict[str, object]:
    from sqlalchemy import select

    from grievance import create_app
    from grievance.cases import services as case_services
    from grievance.cases.models import Case, Message
    from grievance.extensions import commit, db
    from grievance.seed.taxonomy import load_partners
    from grievance.staff import services as staff_services

    app = create_app()
    out.mkdir(parents=True, exist_ok=True)
    info: dict[str, object] = {}
    with app.app_context():
        # The partner directory a deployment starts with (idempotent): the
        # case page ranks it for every case.
        load_partners()
        user = staff_services.find_by_email("bench@bench.invalid")
        if user is None:
            user = staff_services.create_user("bench@bench.invalid", "caseworker").user
            user.totp_confirmed = True
        case, _ = case_services.open_case(
            case_services.NewCase(
                language="vi",
                narrative="Benchmark case with a long thread.",
                # As a worked case has: categories, and where it works.
                categories=["WAGE_UNPAID", "DOC_RETAIN"],
                prefecture="23",
                industry="manufacturing",
                residence_status="TITP",
            )
        )
        for n in range(200):
            message = Message(
                data_key=case.data_key,
                case_id=case.id,
                direction="in" if n % 2 else "out",
                channel="web",
                author_kind="worker" if n % 2 else "staff",
            )
            message.body = f"Message {n} of the benchmark thread."
            db.session.add(message)
        commit()
        info["case_reference"] = case.reference
        now = int(time.time())
        staff_cookie = _cookie(
            app,
            {
                "_user_id": user.get_id(),
                "_fresh": True,
                "auth_at": now,
                "seen_at": now,
            },
        )
        filtered_ref = db.session.scalar(select(Case.reference).limit(1))
        info["filtered_reference"] = filtered_ref

    base_headers = {"Host": "127.0.0.1"}
    # Static scenarios: one line, replayed.
    statics = {
        "healthz": _line("GET", "/healthz", base_headers),
        "report_form": _line("GET", "/vi/report", base_headers),
        "queue": _line("GET", "/staff/queue", {**base_headers, "Cookie": staff_cookie}),
        "queue_filtered": _line(
            "GET",
            "/staff/queue?urgency=P1&language=vi&status=new",
            {**base_headers, "Cookie": staff_cookie},
        ),
        "case_page": _line(
            "GET",
            f"/staff/cases/{info['case_reference']}",
            {**base_headers, "Cookie": staff_cookie},
        ),
        "dashboard": _line("GET", "/staff/reports", {**base_headers, "Cookie": staff_cookie}),
    }
    for name, line in statics.items():
        (out / f"{name}.txt").write_text(line + "\n")

    # One-time scenarios: a fresh CSRF token or MessageSid per request.
    with (out / "report_post.txt").open("w") as fh:
        for n in range(count):
            cookie, token = _csrf_pair(app)
            body = urlencode(
                {
                    "csrf_token": token,
                    "danger": "no",
                    "contact_method": "web",
                    "consent_store": "y",
                    "categories": "WAGE_UNPAID",
                    "narrative": "Tôi chưa được trả lương làm thêm giờ trong ba tháng.",
                }
            )
            fh.write(
                _line(
                    "POST",
                    "/vi/report",
                    {
                        **base_headers,
                        "Cookie": cookie,
                        "X-Forwarded-For": _ip(n),
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                    body,
                )
                + "\n"
            )
    validator = RequestValidator(app.config["TWILIO_AUTH_TOKEN"])
    url = app.config["PUBLIC_BASE_URL"].rstrip("/") + "/webhooks/twilio/messages"
    with (out / "webhook.txt").open("w") as fh:
        for n in range(count):
            params = {
                "MessageSid": "SM" + secrets.token_hex(16),
                "AccountSid": "AC" + "0" * 32,
                "From": f"+8170{n:08d}",
                "To": "+815000000000",
                "Body": "Xin chào",
                "NumMedia": "0",
            }
            signature = validator.compute_signature(url, params)
            fh.write(
                _line(
                    "POST",
                    "/webhooks/twilio/messages",
                    {
                        **base_headers,
                        "X-Twilio-Signature": signature,
                        "X-Forwarded-For": _ip(n),
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                    urlencode(params),
                )
                + "\n"
            )
    return info


if __name__ == "__main__":
    print(json.dumps(prepare(Path(sys.argv[1]), int(sys.argv[2]))))

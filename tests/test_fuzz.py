"""Fuzzing every worker form and both webhooks with hypothesis.

Arbitrary Unicode (NUL bytes, bidi overrides, mixed scripts), huge fields,
missing and repeated fields, wrong types, malformed multipart bodies and
uploads. The properties: no answer of 500 or above, and no partial row
left behind (every stored case is whole). FUZZ_EXAMPLES sets the number of
requests per test, twice that for the webhooks: the unit suite runs 1,000
(5,000 requests in all); `make fuzz` runs 4,000 (20,000 requests).
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterator
from itertools import count

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from grievance.cases.models import Case, CaseEvent, Consent, Message
from grievance.extensions import db
from tests.conftest import csrf_from

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure reproduces
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Unicode without lone surrogates (not encodable on the wire), plus the
# characters that break naive code: NUL, bidi overrides, combining marks.
NASTY = st.sampled_from(
    [
        "\x00",
        "\u202e",
        "\u202d",
        "\u2066",
        "\ufeff",
        "\u0301",
        "\r\n",
        "'; DROP TABLE cases; --",
        "<script>",
        "%(x)s",
        "{{7*7}}",
        "ဢ",
        "ق",
    ]
)
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.lists(NASTY, max_size=8).map("".join),
    # Huge fields, around the 10,000-character limit and past it.
    st.tuples(
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=4),
        st.integers(2_500, 11_000),
    ).map(lambda t: (t[0] * t[1])[: t[1]]),
    st.integers().map(str),
)
FIELD_NAMES = [
    "danger",
    "narrative",
    "categories",
    "since",
    "prefecture",
    "industry",
    "residence_status",
    "employer",
    "organisation",
    "broker",
    "contact_method",
    "phone",
    "email",
    "safe_windows",
    "own_phone",
    "consent_store",
    "homepage",
    "reference",
    "secret",
    "body",
]


def form_data() -> st.SearchStrategy[dict[str, object]]:
    """Some known fields (each maybe repeated), some unknown, any values."""
    value = st.one_of(TEXT, st.lists(TEXT, min_size=2, max_size=3))
    known = st.dictionaries(st.sampled_from(FIELD_NAMES), value, max_size=len(FIELD_NAMES))
    unknown = st.dictionaries(
        st.text(string.ascii_letters, min_size=1, max_size=8), TEXT, max_size=2
    )
    return st.tuples(known, unknown).map(lambda kv: {**kv[1], **kv[0]})


@pytest.fixture
def fuzz_client(app: Flask) -> Iterator[FlaskClient]:
    yield app.test_client()


def _addresses() -> Iterator[str]:
    for n in count():
        yield f"198.18.{(n // 250) % 250}.{n % 250 + 1}"


ADDRESSES = _addresses()


def assert_whole(app: Flask) -> None:
    """Every case has its key, its consent and its audit event."""
    with app.app_context():
        cases = db.session.scalar(select(func.count()).select_from(Case))
        keyed = db.session.scalar(
            select(func.count()).select_from(Case).where(Case.data_key_id.is_not(None))
        )
        consented = db.session.scalar(select(func.count(func.distinct(Consent.case_id))))
        opened = db.session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "case.opened")
        )
        assert cases == keyed == consented == opened
        for case in db.session.scalars(select(Case)):
            assert case.narrative is not None


def test_fuzz_report_form(app: Flask, fuzz_client: FlaskClient) -> None:
    page = fuzz_client.get("/vi/report")
    token = [csrf_from(page.data)]

    @FUZZ
    @given(
        data=form_data(),
        lang=st.sampled_from(["vi", "ur", "my", "ja-x-easy", "xx"]),
        with_token=st.booleans(),
    )
    def run(data: dict[str, object], lang: str, with_token: bool) -> None:
        if with_token:
            data["csrf_token"] = token[0]
        fuzz_client.environ_base["REMOTE_ADDR"] = next(ADDRESSES)
        response = fuzz_client.post(f"/{lang}/report", data=data)
        assert response.status_code < 500, response.status_code
        if b'class="receipt"' in response.data:
            # A stored report renews the token; fetch the next one.
            token[0] = csrf_from(fuzz_client.get("/vi/report").data)

    run()
    assert_whole(app)


def test_fuzz_follow_up_and_reply(app: Flask, fuzz_client: FlaskClient) -> None:
    page = fuzz_client.get("/vi/follow-up")
    token = csrf_from(page.data)

    @FUZZ
    @given(
        data=form_data(),
        path=st.sampled_from(
            ["/vi/follow-up", "/ur/follow-up/reply", "/ne/follow-up/leave", "/my/follow-up"]
        ),
    )
    def run(data: dict[str, object], path: str) -> None:
        data["csrf_token"] = token
        fuzz_client.environ_base["REMOTE_ADDR"] = next(ADDRESSES)
        response = fuzz_client.post(path, data=data)
        assert response.status_code < 500, response.status_code

    run()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_fuzz_uploads_and_malformed_multipart(app: Flask, fuzz_client: FlaskClient) -> None:
    import io

    token = [csrf_from(fuzz_client.get("/vi/report").data)]
    magic = st.sampled_from(
        [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"%PDF-", b"GIF89a", b"PK\x03\x04"]
    )

    @FUZZ
    @given(
        heads=st.lists(magic, max_size=7),
        tail=st.binary(max_size=300),
        names=st.lists(TEXT, max_size=7),
        raw=st.binary(max_size=400),
        malformed=st.booleans(),
    )
    def run(heads: list[bytes], tail: bytes, names: list[str], raw: bytes, malformed: bool) -> None:
        fuzz_client.environ_base["REMOTE_ADDR"] = next(ADDRESSES)
        if malformed:
            response = fuzz_client.post(
                "/vi/report",
                data=raw,
                content_type="multipart/form-data; boundary=" + ("x" * (len(raw) % 80)),
            )
        else:
            files = [
                (io.BytesIO(h + tail), (names[i] if i < len(names) else "f") or "f")
                for i, h in enumerate(heads)
            ]
            response = fuzz_client.post(
                "/vi/report",
                data={
                    "csrf_token": token[0],
                    "danger": "no",
                    "narrative": "fuzz",
                    "consent_store": "y",
                    "contact_method": "web",
                    "attachments": files,
                },
                content_type="multipart/form-data",
            )
        assert response.status_code < 500, response.status_code
        if b'class="receipt"' in response.data:
            token[0] = csrf_from(fuzz_client.get("/vi/report").data)

    run()
    assert_whole(app)


def _signed(app: Flask, path: str, params: dict[str, str]) -> dict[str, str]:
    validator = RequestValidator(app.config["TWILIO_AUTH_TOKEN"])
    url = app.config["PUBLIC_BASE_URL"].rstrip("/") + path
    return {"X-Twilio-Signature": validator.compute_signature(url, params)}


def test_fuzz_webhooks(app: Flask, fuzz_client: FlaskClient) -> None:
    twilio_fields = [
        "MessageSid",
        "SmsMessageSid",
        "AccountSid",
        "From",
        "To",
        "Body",
        "NumMedia",
        "MessageStatus",
        "ErrorCode",
        "WaId",
        "ProfileName",
        "FromCity",
    ]
    params = st.dictionaries(
        st.one_of(st.sampled_from(twilio_fields), st.text(string.ascii_letters, max_size=6)),
        st.one_of(
            TEXT,
            st.sampled_from(
                ["+819012345678", "whatsapp:+84912345678", "sent", "delivered", "SM" + "a" * 32]
            ),
        ),
        max_size=10,
    )

    @settings(FUZZ, max_examples=2 * EXAMPLES)
    @given(
        form=params,
        path=st.sampled_from(["/webhooks/twilio/messages", "/webhooks/twilio/status"]),
        sign=st.booleans(),
    )
    def run(form: dict[str, str], path: str, sign: bool) -> None:
        form = {k: v.replace("\x00", "") if sign else v for k, v in form.items()}
        headers = _signed(app, path, form) if sign else {}
        response = fuzz_client.post(path, data=form, headers=headers)
        assert response.status_code < 500, response.status_code
        if not sign:
            assert response.status_code == 403

    run()

"""The anonymous web report, the receipt and the follow-up page."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from grievance import crypto
from grievance.cases.models import Attachment, Case, CaseEvent, Consent
from grievance.datakeys import DataKey, utcnow
from grievance.extensions import commit, db
from grievance.intake import kept_files
from grievance.intake.models import Conversation, KeptFile
from tests.conftest import csrf_from

NARRATIVE = "Công ty giữ hộ chiếu của tôi. CANARY-web-3141"


def start_report(client: FlaskClient, lang: str = "vi", danger: str = "no") -> str:
    page = client.get(f"/{lang}/report")
    assert page.status_code == 200
    form = client.post(
        f"/{lang}/report", data={"csrf_token": csrf_from(page.data), "danger": danger}
    )
    assert form.status_code == 200
    return form.data.decode()


def submit(client: FlaskClient, lang: str = "vi", danger: str = "no", **fields: object):  # type: ignore[no-untyped-def]
    html = start_report(client, lang, danger)
    data: dict[str, object] = {
        "csrf_token": csrf_from(html),
        "danger": danger,
        "narrative": NARRATIVE,
        "contact_method": "web",
        "consent_store": "y",
    }
    data.update(fields)
    return client.post(f"/{lang}/report", data=data, content_type="multipart/form-data")


def receipt_codes(html: bytes) -> tuple[str, str]:
    codes = re.findall(r"<code>([^<]+)</code>", html.decode())
    assert len(codes) == 2
    return codes[0], codes[1]


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "CANARY-CAMERA-MAKER"  # Make
    exif[0x8825] = {2: (35.0, 41.0, 22.0), 1: "N"}  # GPS IFD
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def pdf_with_metadata() -> bytes:
    """A one-page PDF naming its author in every place a PDF keeps metadata."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    with pdf.open_metadata() as meta:
        meta["dc:creator"] = ["CANARY-AUTHOR xmp"]
    pdf.docinfo["/Author"] = "CANARY-AUTHOR info"
    pdf.docinfo["/Producer"] = "CANARY-AUTHOR payroll system"
    page = pdf.pages[0].obj
    page["/PieceInfo"] = pikepdf.Dictionary(
        {"/Payroll": pikepdf.Dictionary({"/Private": pikepdf.String("CANARY-AUTHOR page")})}
    )
    page["/Metadata"] = pdf.make_stream(b"<x:xmpmeta>CANARY-AUTHOR page xmp</x:xmpmeta>")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_report_opens_a_case_and_shows_a_receipt_once(app: Flask, client: FlaskClient) -> None:
    response = submit(
        client,
        categories=["DOC_RETAIN", "WAGE_UNPAID"],
        prefecture="08",
        residence_status="TITP",
        employer="Canary Farm KK",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    reference, secret = receipt_codes(response.data)
    assert reference not in response.request.url and secret not in response.request.url
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert case.narrative == NARRATIVE and case.language == "vi" and case.channel == "web"
        # The most urgent default of the chosen categories (DOC_RETAIN is P1).
        assert case.urgency == "P1"
        assert {c.code for c in case.categories} == {"DOC_RETAIN", "WAGE_UNPAID"}
        assert case.prefecture == "08" and case.residence_status == "TITP"
        assert case.employer_key and "Canary" not in case.employer_key
        assert db.session.scalar(select(Consent.scope).where(Consent.case_id == case.id)) == "store"
        assert (
            db.session.scalar(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))
            == "case.opened"
        )
    # The same form cannot be sent twice (the CSRF token was renewed).
    again = client.post("/vi/report", data={"danger": "no", "narrative": "x"})
    assert again.status_code == 400


def test_danger_yes_shows_emergency_numbers_and_marks_p0(app: Flask, client: FlaskClient) -> None:
    html = start_report(client, "ne", danger="yes")
    assert "110" in html and "119" in html and 'class="emergency"' in html
    response = submit(client, "ne", danger="yes")
    assert response.status_code == 200
    # The receipt, too, shows where to call at once.
    assert 'class="emergency"' in response.get_data(as_text=True)
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert case.urgency == "P0" and case.in_danger
        assert (case.due_at - case.created_at).total_seconds() == 3600


def test_validation_error_keeps_everything_typed(app: Flask, client: FlaskClient) -> None:
    response = submit(
        client,
        consent_store="",
        categories=["VIOLENCE"],
        employer="Keep Me KK",
        contact_method="sms",
        phone="",
    )
    assert response.status_code == 400
    html = response.data.decode()
    assert NARRATIVE in html and "Keep Me KK" in html
    assert re.search(r'value="VIOLENCE"[^>]*checked|checked[^>]*value="VIOLENCE"', html)
    assert 'id="consent_store-error"' in html and 'id="phone-error"' in html
    with app.app_context():
        assert db.session.scalar(select(Case)) is None


def test_errors_are_in_the_worker_language(client: FlaskClient) -> None:
    english = submit(client, "en", consent_store="").data.decode()
    japanese = submit(client, "ja", consent_store="").data.decode()
    en_error = re.search(r'id="consent_store-error">([^<]+)<', english).group(1)
    ja_error = re.search(r'id="consent_store-error">([^<]+)<', japanese).group(1)
    assert en_error != ja_error


def test_too_long_narrative_is_refused_with_the_text_kept(client: FlaskClient) -> None:
    response = submit(client, narrative="あ" * 10_001)
    assert response.status_code == 400
    assert 'id="narrative-error"' in response.data.decode()


def test_honeypot_refuses_without_storing(app: Flask, client: FlaskClient) -> None:
    response = submit(client, homepage="http://spam.example")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Case)) is None


def test_phone_contact_links_the_number_without_storing_it(app: Flask, client: FlaskClient) -> None:
    response = submit(
        client,
        contact_method="whatsapp",
        phone="090-5555-1212",
        safe_windows=["evening"],
        own_phone="own",
    )
    assert response.status_code == 200
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert case.contact_method == "whatsapp"
        assert '"+819055551212"' in case.contact and "evening" in case.contact
        conversation = db.session.scalar(select(Conversation))
        assert conversation.case_id == case.id and conversation.channel == "whatsapp"
        assert b"55551212" not in conversation.address_ct
        # The keyed index a later message from the number is found by, which
        # holds none of its digits. (Not a shorter run: four digits turn up
        # by chance in a random hex digest about once in a thousand.)
        assert conversation.sender_index == crypto.phone_index(
            crypto.current_ring(), "+819055551212"
        )
        assert "9055551212" not in conversation.sender_index


def test_bad_phone_number_is_explained(client: FlaskClient) -> None:
    response = submit(client, contact_method="sms", phone="12")
    assert response.status_code == 400 and 'id="phone-error"' in response.data.decode()


def test_photo_metadata_is_removed_and_the_file_sealed(app: Flask, client: FlaskClient) -> None:
    photo = jpeg_with_gps()
    assert b"CANARY-CAMERA-MAKER" in photo
    response = submit(
        client,
        attachments=[
            (io.BytesIO(photo), "payslip.jpg"),
            (io.BytesIO(pdf_with_metadata()), "contract.pdf"),
        ],
    )
    assert response.status_code == 200
    with app.app_context():
        stored = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
        assert [a.content_type for a in stored] == ["image/jpeg", "application/pdf"]
        clean = stored[0].data
        assert b"CANARY-CAMERA-MAKER" not in clean
        assert "exif" not in Image.open(io.BytesIO(clean)).info
        assert Image.open(io.BytesIO(clean)).getexif().get_ifd(0x8825) == {}
        assert b"JFIF" not in stored[0].data_ct and stored[0].filename == "payslip.jpg"
        # The PDF keeps its page and loses every metadata block.
        pdf_bytes = stored[1].data
        assert b"CANARY-AUTHOR" not in pdf_bytes
        with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
            assert len(pdf.pages) == 1
            assert "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ([(io.BytesIO(b"MZ\x90\x00 not a photo"), "photo.jpg")], "JPEG or PNG"),
        ([(io.BytesIO(b"\xff\xd8\xff broken jpeg"), "x.jpg")], "damaged"),
        ([(io.BytesIO(b"%PDF-1.4"), f"f{i}.pdf") for i in range(6)], "5 files"),
        ([(io.BytesIO(b"%PDF-1.4 not really a PDF"), "x.pdf")], "PDF cannot be opened"),
    ],
)
def test_bad_uploads_are_refused_by_content(
    app: Flask, client: FlaskClient, files: list, needle: str
) -> None:
    response = submit(client, "en", attachments=files)
    assert response.status_code == 400
    html = response.data.decode()
    assert needle in html and NARRATIVE in html
    with app.app_context():
        assert db.session.scalar(select(Case)) is None


def test_report_form_weighs_at_most_60_kb(client: FlaskClient) -> None:
    html = start_report(client, "vi")
    css = client.get("/static/site.css").data
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    weight = len(html.encode()) + len(css) + sum(len(client.get(s).data) for s in scripts)
    assert weight <= 60 * 1024, weight
    # Nothing on the page comes from another host.
    assert not re.search(
        r'(src|href)="(https?:)?//', html.replace('href="https://www.jma.go.jp/"', "")
    )


def test_neutral_title_on_worker_pages(client: FlaskClient) -> None:
    for html in (start_report(client), client.get("/vi/follow-up").data.decode()):
        title = re.search(r"<title>([^<]*)</title>", html).group(1).lower()
        for word in ("complaint", "grievance", "report", "case"):
            assert word not in title


def open_follow_up(client: FlaskClient, reference: str, secret: str, lang: str = "vi"):  # type: ignore[no-untyped-def]
    page = client.get(f"/{lang}/follow-up")
    return client.post(
        f"/{lang}/follow-up",
        data={"csrf_token": csrf_from(page.data), "reference": reference, "secret": secret},
    )


def test_follow_up_opens_with_the_receipt_only(app: Flask, client: FlaskClient) -> None:
    reference, secret = receipt_codes(submit(client).data)
    other = FlaskClient(app, app.response_class, use_cookies=True)
    wrong = open_follow_up(
        other, reference, secret[:-1] + ("3" if secret[-1] != "3" else "4"), lang="en"
    )
    assert wrong.status_code == 400
    assert "not correct" in wrong.data.decode()
    right = open_follow_up(other, reference.lower().replace("-", " "), secret)
    assert right.status_code == 303
    page = other.get("/vi/follow-up")
    assert reference in page.data.decode()
    assert page.headers["Cache-Control"] == "no-store"


def test_ten_wrong_receipts_are_rate_limited(app: Flask, client: FlaskClient) -> None:
    reference, secret = receipt_codes(submit(client).data)
    for _ in range(10):
        assert open_follow_up(client, reference, "WRONG-WRONG-WRNG").status_code == 400
    # Now even the right secret waits, and so does an unknown reference.
    assert open_follow_up(client, reference, secret).status_code == 429
    assert open_follow_up(client, "ZZZZ-ZZZZ", "WRONG").status_code == 429


def test_follow_up_ends_when_idle_and_on_leave(app: Flask, client: FlaskClient) -> None:
    reference, secret = receipt_codes(submit(client).data)
    open_follow_up(client, reference, secret)
    assert reference in client.get("/vi/follow-up").data.decode()
    with client.session_transaction() as session:
        session["w_seen"] -= 16 * 60
    assert reference not in client.get("/vi/follow-up").data.decode()
    open_follow_up(client, reference, secret)
    page = client.get("/vi/follow-up")
    client.post("/vi/follow-up/leave", data={"csrf_token": csrf_from(page.data)})
    assert reference not in client.get("/vi/follow-up").data.decode()


def test_worker_reply_joins_the_case(app: Flask, client: FlaskClient) -> None:
    reference, secret = receipt_codes(submit(client).data)
    open_follow_up(client, reference, secret)
    page = client.get("/vi/follow-up")
    response = client.post(
        "/vi/follow-up/reply",
        data={"csrf_token": csrf_from(page.data), "body": "Thêm thông tin CANARY-reply"},
    )
    assert response.status_code == 303
    with app.app_context():
        case = db.session.scalar(select(Case))
        bodies = [m.body for m in case.messages]
        assert "Thêm thông tin CANARY-reply" in bodies
        assert case.messages[-1].direction == "in" and case.unread_count == 1
    assert "CANARY-reply" in client.get("/vi/follow-up").data.decode()


def test_no_ip_address_is_stored(tmp_path: Path) -> None:
    from config import TestingConfig
    from grievance import create_app

    db_file = tmp_path / "ip.sqlite3"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_file}")
    with app.app_context():
        db.create_all()
        from grievance.seed.taxonomy import load_taxonomy

        load_taxonomy()
        db.session.commit()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    client.environ_base["HTTP_USER_AGENT"] = "CANARY-AGENT/1.0"
    reference, secret = receipt_codes(submit(client).data)
    open_follow_up(client, reference, "WRONG")
    assert open_follow_up(client, reference, secret).status_code == 303
    with app.app_context():
        db.engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("ip.sqlite3*"))
    for needle in (b"203.0.113.77", b"CANARY-AGENT", b"CANARY-web", NARRATIVE.encode()):
        assert needle not in raw


def test_sms_contact_gets_a_neutral_acknowledgement(app: Flask, client: FlaskClient) -> None:
    response = submit(client, "id", contact_method="sms", phone="090-7777-1212")
    assert response.status_code == 200
    sent = app.extensions["grievance.channel"].sent
    assert len(sent) == 1
    _, kind, recipient, body = sent[0]
    assert kind == "sms" and recipient == "+819077771212"
    assert "CANARY" not in body and "hộ chiếu" not in body
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert case.messages[-1].direction == "out" and case.messages[-1].body == body


# -- files kept when the form comes back ---------------------------------------------


def _correct(client: FlaskClient, previous: bytes, **fields: object):  # type: ignore[no-untyped-def]
    """Post the form that came back again, as a worker correcting it does."""
    data: dict[str, object] = {
        "csrf_token": csrf_from(previous),
        "danger": "no",
        "narrative": NARRATIVE,
        "contact_method": "web",
        "consent_store": "y",
    }
    data.update(fields)
    return client.post("/en/report", data=data, content_type="multipart/form-data")


def _kept_uids(html: str) -> list[str]:
    return re.findall(r'name="kept_remove" value="([^"]+)"', html)


def test_files_are_kept_when_the_form_must_be_corrected(app: Flask, client: FlaskClient) -> None:
    photo = jpeg_with_gps()
    first = submit(
        client,
        "en",
        narrative="",  # forgotten: the form comes back
        attachments=[(io.BytesIO(photo), "payslip.jpg")],
    )
    assert first.status_code == 400
    html = first.data.decode()
    assert "We kept the files you chose" in html and "payslip.jpg" in html
    assert len(_kept_uids(html)) == 1
    with app.app_context():
        kept = db.session.scalars(select(KeptFile)).one()
        # Cleaned and sealed while it waits: no metadata, no clear bytes or name.
        assert b"CANARY-CAMERA-MAKER" not in kept.data and b"JFIF" not in kept.data_ct
        assert b"payslip" not in kept.filename_ct
        key_id = kept.data_key_id

    done = _correct(client, first.data)  # no file chosen this time
    assert done.status_code == 200 and "<code>" in done.data.decode()
    with app.app_context():
        stored = db.session.scalars(select(Attachment)).one()
        assert stored.filename == "payslip.jpg" and stored.content_type == "image/jpeg"
        assert b"CANARY-CAMERA-MAKER" not in stored.data
        # The kept copy and its key are gone with the report.
        assert db.session.scalars(select(KeptFile)).all() == []
        assert db.session.get(DataKey, key_id) is None


def test_a_kept_file_can_be_removed_and_new_ones_added(app: Flask, client: FlaskClient) -> None:
    first = submit(
        client,
        "en",
        narrative="",
        attachments=[
            (io.BytesIO(jpeg_with_gps()), "one.jpg"),
            (io.BytesIO(jpeg_with_gps()), "two.jpg"),
        ],
    )
    one, _two = _kept_uids(first.data.decode())
    second = _correct(
        client,
        first.data,
        narrative="",
        kept_remove=[one],
        attachments=[(io.BytesIO(pdf_with_metadata()), "three.pdf")],
    )
    html = second.data.decode()
    assert second.status_code == 400
    assert "one.jpg" not in html and "two.jpg" in html and "three.pdf" in html
    done = _correct(client, second.data)
    assert done.status_code == 200
    with app.app_context():
        names = sorted(a.filename for a in db.session.scalars(select(Attachment)))
        assert names == ["three.pdf", "two.jpg"]


def test_kept_files_count_towards_the_limit(app: Flask, client: FlaskClient) -> None:
    first = submit(
        client,
        "en",
        narrative="",
        attachments=[(io.BytesIO(jpeg_with_gps()), f"{n}.jpg") for n in range(3)],
    )
    second = _correct(
        client,
        first.data,
        attachments=[(io.BytesIO(jpeg_with_gps()), f"new{n}.jpg") for n in range(3)],
    )
    assert second.status_code == 400 and "at most 5 files" in second.data.decode()
    with app.app_context():
        assert db.session.scalar(select(Case)) is None
        assert len(db.session.scalars(select(KeptFile)).all()) == 3


def test_kept_files_stay_with_their_session_and_a_new_report(
    app: Flask, client: FlaskClient
) -> None:
    first = submit(
        client, "en", narrative="", attachments=[(io.BytesIO(jpeg_with_gps()), "mine.jpg")]
    )
    assert "mine.jpg" in first.data.decode()
    # Someone else's browser sees nothing of them.
    other = app.test_client()
    other_form = submit(other, "en", narrative="")
    assert "mine.jpg" not in other_form.data.decode()
    assert "We kept the files" not in other_form.data.decode()
    # Starting a new report drops them, with their key.
    start_report(client, "en")
    with app.app_context():
        assert db.session.scalars(select(KeptFile)).all() == []


def test_kept_files_expire_with_their_key(app: Flask, client: FlaskClient) -> None:
    first = submit(
        client, "en", narrative="", attachments=[(io.BytesIO(jpeg_with_gps()), "old.jpg")]
    )
    assert "old.jpg" in first.data.decode()
    with app.app_context():
        kept = db.session.scalars(select(KeptFile)).one()
        kept.created_at = utcnow() - kept_files.KEEP_FOR - timedelta(minutes=1)
        key_id = kept.data_key_id
        commit()
    # An hour later the form no longer offers it...
    assert "old.jpg" not in _correct(client, first.data, narrative="").data.decode()
    # ...and the periodic work deletes it and its key.
    with app.app_context():
        assert kept_files.purge_expired() == 1
        assert db.session.scalars(select(KeptFile)).all() == []
        assert db.session.get(DataKey, key_id) is None


def test_files_are_not_kept_without_a_valid_csrf_token_or_past_the_limit(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grievance.intake import views

    html = start_report(client, "en")
    forged = client.post(
        "/en/report",
        data={
            "csrf_token": "not-the-token",
            "danger": "no",
            "narrative": "",
            "contact_method": "web",
            "attachments": [(io.BytesIO(jpeg_with_gps()), "planted.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert forged.status_code == 400 and "planted.jpg" not in forged.data.decode()
    monkeypatch.setattr(views, "KEEPS_PER_HOUR", 1)
    for n in range(2):
        response = _correct(
            client,
            html.encode(),
            narrative="",
            attachments=[(io.BytesIO(jpeg_with_gps()), f"try{n}.jpg")],
        )
        assert response.status_code == 400
    with app.app_context():
        names = [row.filename for row in db.session.scalars(select(KeptFile))]
    assert names == ["try0.jpg"]
    # Nor can such a request remove what the worker kept.
    uid = _kept_uids(response.data.decode())[0]
    client.post(
        "/en/report",
        data={"csrf_token": "forged", "danger": "no", "narrative": "", "kept_remove": uid},
        content_type="multipart/form-data",
    )
    with app.app_context():
        assert [row.filename for row in db.session.scalars(select(KeptFile))] == ["try0.jpg"]

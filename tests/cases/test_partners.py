"""The partner directory: CSV in the seed's format, admin pages, sealed SMS numbers."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from grievance.cases import partners
from grievance.cases.models import CaseEvent, Partner
from grievance.cases.referral_models import PartnerSmsContact
from grievance.extensions import commit, db
from grievance.seed.taxonomy import SEED_DIR
from grievance.staff.models import StaffUser
from tests.conftest import AuthActions, csrf_from, make_staff

SEED_TEXT = (SEED_DIR / "partners.csv").read_bytes().decode("utf-8")
HEADER = SEED_TEXT.splitlines()[0]


def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the tests read English words
    with app.app_context():
        _user, secret = make_staff("admin", "admin@example.org")
    AuthActions(client, app).login("admin@example.org", secret)
    return client


def an_admin() -> StaffUser:
    user = db.session.scalar(select(StaffUser).where(StaffUser.role == "admin"))
    if user is None:
        user, _ = make_staff("admin")
    return user


def test_export_of_the_seeded_directory_is_the_seed_file(app: Flask) -> None:
    with app.app_context():
        exported = partners.export_csv(partners.all_for_export())
    assert exported == SEED_TEXT


def test_importing_the_seed_file_again_changes_nothing(app: Flask) -> None:
    with app.app_context():
        before = partners.export_csv(partners.all_for_export(), full=True)
        report = partners.import_csv(an_admin(), SEED_TEXT)
        commit()
        assert report.ok, report.errors
        assert (report.created, report.updated) == (0, 0)
        assert report.unchanged == len(SEED_TEXT.splitlines()) - 1
        assert partners.export_csv(partners.all_for_export(), full=True) == before


def test_seed_rows_get_kind_eligibility_and_exposure(app: Flask) -> None:
    with app.app_context():
        by_code = {p.code: p for p in partners.list_partners()}
        assert by_code["G-OTIT"].eligibility == partners.TITP_ONLY
        assert by_code["G-HOUTERASU"].eligibility == partners.ALL_LAWFUL
        assert by_code["G-ISA-FRESC"].immigration_exposure
        assert by_code["G-POLICE-AICHI"].immigration_exposure
        assert not by_code["U-DEMO-KANTO"].immigration_exposure
        assert by_code["L-DEMO-AOZORA"].kind == "lawyer"
        assert by_code["E-VN-EMB"].kind == "embassy"
        assert by_code["N-DEMO-SORA"].kind == "ngo"
        assert by_code["U-DEMO-KANTO"].notify_email.endswith(".demo.invalid")


def new_partner_data(**changes: object) -> partners.PartnerData:
    data = partners.PartnerData(
        code="N-DEMO-TEST",
        name="DEMO Test Support Desk",
        kind="ngo",
        sector="civil_society",
        type_code="NPO",
        pref_code="27",
        prefecture="Osaka",
        scope="prefectural",
        languages=["ne", "ja"],
        categories=["WAGE_UNPAID", "HOUSING"],
        eligibility=["TITP", "ESD"],
        anonymous_ok="yes",
        immigration_exposure=True,
        notify_email="desk@test.demo.invalid",
        is_fictional=True,
        notes="FICTIONAL",
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_flags_outside_the_seed_columns_survive_a_round_trip_in_the_notes(app: Flask) -> None:
    with app.app_context():
        admin = an_admin()
        partners.create_partner(admin, new_partner_data())
        commit()
        exported = partners.export_csv(partners.all_for_export())
        line = next(row for row in exported.splitlines() if row.startswith("N-DEMO-TEST,"))
        assert "TITP only" in line and "enforcement-risk flag" in line
        assert exported.splitlines()[0] == HEADER
        # Into an empty directory: the same flags come back from the notes.
        db.session.execute(text("DELETE FROM partners WHERE code = 'N-DEMO-TEST'"))
        commit()
        report = partners.import_csv(admin, exported)
        commit()
        assert report.ok and report.created == 1
        again = partners.partner_by_code("N-DEMO-TEST")
        assert again is not None
        assert again.eligibility == "TITP;ESD"
        assert again.immigration_exposure
        assert again.language_list() == ["ne", "ja"]
        assert again.category_list() == ["WAGE_UNPAID", "HOUSING"]


def test_the_full_export_carries_address_and_active_flag(app: Flask) -> None:
    with app.app_context():
        admin = an_admin()
        partner = partners.create_partner(admin, new_partner_data(eligibility=["NIK", "SSW1"]))
        partner.active = False
        commit()
        full = partners.export_csv(partners.all_for_export(), full=True)
        assert (
            full.splitlines()[0]
            == HEADER + ",kind,eligibility,immigration_exposure,notify_email,active"
        )
        edited = full.replace("desk@test.demo.invalid", "new@test.demo.invalid")
        report = partners.import_csv(admin, edited)
        commit()
        assert report.ok and report.updated == 1
        again = partners.partner_by_code("N-DEMO-TEST")
        assert again is not None
        assert again.notify_email == "new@test.demo.invalid"
        assert again.eligibility == "NIK;SSW1"
        assert again.active is False


def test_a_bad_line_means_nothing_is_imported(app: Flask) -> None:
    good = "N-DEMO-NEW,DEMO New Desk,civil_society,NPO,13,Tokyo,prefectural,vi,WAGE_UNPAID,yes,true,FICTIONAL"
    bad = [
        "N-DEMO-BAD,DEMO Bad Desk,civil_society,NPO,99,Nowhere,prefectural,vi,NO_SUCH_CODE,yes,maybe,",
        "U-DEMO-KANTO,Renamed,union,UNION,13,Tokyo,regional,ja,WAGE_UNPAID,yes,true,",
        "U-DEMO-KANTO,Twice,union,UNION,13,Tokyo,regional,ja,WAGE_UNPAID,yes,true,",
    ]
    with app.app_context():
        count = db.session.query(Partner).count()
        report = partners.import_csv(an_admin(), "\r\n".join([HEADER, good, *bad]) + "\r\n")
        db.session.rollback()
        assert not report.ok
        problems = {(line, column) for line, column, _message in report.errors}
        assert (3, "pref_code") in problems
        assert (3, "categories") in problems
        assert (3, "is_fictional") in problems
        assert (5, "org_code") in problems  # the same code twice
        assert db.session.query(Partner).count() == count
        kanto = partners.partner_by_code("U-DEMO-KANTO")
        assert kanto is not None and kanto.name.startswith("DEMO Kanto")


def test_a_file_without_the_seed_columns_is_refused(app: Flask) -> None:
    with app.app_context():
        report = partners.import_csv(an_admin(), "code,name\r\nX,Y\r\n")
        assert not report.ok
        assert report.errors[0][0] == 1


def test_import_adds_updates_and_audits(app: Flask) -> None:
    rows = [
        HEADER,
        "N-DEMO-NEW,DEMO New Desk,civil_society,NPO,13,Tokyo,prefectural,vi;ja,WAGE_UNPAID,yes,true,FICTIONAL",
        "U-DEMO-KANTO,DEMO Kanto Example General Union (renamed),union,UNION,13,Tokyo,regional,"
        "ja;en;vi;fil;ne,WAGE_UNPAID,after intake,true,FICTIONAL",
    ]
    with app.app_context():
        report = partners.import_csv(an_admin(), "\r\n".join(rows))
        commit()
        assert (report.created, report.updated) == (1, 1)
        created = partners.partner_by_code("N-DEMO-NEW")
        assert created is not None and created.kind == "ngo"
        assert created.notify_email == "intake@n-demo-new.demo.invalid"
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "partner.imported"))
        assert event is not None and event.detail == {"created": 1, "updated": 1}


def test_an_sms_number_is_sealed(app: Flask) -> None:
    with app.app_context():
        partner = partners.partner_by_code("U-DEMO-KANTO")
        assert partner is not None
        partners.set_sms_contact(an_admin(), partner, "090-1234-5678")
        commit()
        contact = partners.sms_contact(partner)
        assert contact is not None and contact.phone == "+819012345678"
        raw = db.session.execute(text("SELECT phone_ct FROM partner_sms_contacts")).scalar_one()
        assert b"9012345678" not in bytes(raw)
        partners.set_sms_contact(an_admin(), partner, "")
        commit()
        assert db.session.query(PartnerSmsContact).count() == 0


def test_service_refuses_unsound_records(app: Flask) -> None:
    import pytest

    with app.app_context():
        admin = an_admin()
        with pytest.raises(partners.InvalidPartnerError):
            partners.create_partner(admin, new_partner_data(categories=["NOPE"]))
        with pytest.raises(partners.DuplicateCodeError):
            partners.create_partner(admin, new_partner_data(code="G-OTIT"))
        with pytest.raises(partners.InvalidPartnerError):
            partners.create_partner(admin, new_partner_data(scope="local", pref_code=""))


# -- the admin pages --------------------------------------------------------------


def test_only_admins_reach_the_directory(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    assert client.get("/admin/partners").status_code == 302  # to the login page
    with app.app_context():
        _u, secret = make_staff("caseworker", "cw@example.org")
        _a, advisor_secret = make_staff("advisor", "adv@example.org", partner_code="U-DEMO-KANTO")
    auth.login("cw@example.org", secret)
    for path in ("/admin/partners", "/admin/partners/new", "/admin/partners/export.csv"):
        assert client.get(path).status_code == 403
    assert client.post("/admin/partners/import").status_code in (400, 403)
    other = app.test_client()
    AuthActions(other, app).login("adv@example.org", advisor_secret)
    assert other.get("/admin/partners").status_code == 403


def test_admin_adds_and_edits_a_partner(app: Flask) -> None:
    client = admin_client(app)
    page = client.get("/admin/partners/new")
    assert page.status_code == 200
    response = client.post(
        "/admin/partners/new",
        data={
            "csrf_token": csrf_from(page.data),
            "code": "U-DEMO-NEW",
            "name": "DEMO New Union",
            "kind": "union",
            "scope": "regional",
            "pref_code": "27",
            "prefecture": "Osaka",
            "languages": "ne, vi",
            "categories": ["WAGE_UNPAID", "HARASS_POWER"],
            "anonymous_ok": "yes",
            "notify_email": "desk@new.demo.invalid",
            "active": "y",
            "is_fictional": "y",
        },
    )
    assert response.status_code == 303, response.data
    with app.app_context():
        partner = partners.partner_by_code("U-DEMO-NEW")
        assert partner is not None
        assert partner.language_list() == ["ne", "vi"]
        assert partner.category_list() == ["WAGE_UNPAID", "HARASS_POWER"]
        partner_id = partner.id
    page = client.get(f"/admin/partners/{partner_id}")
    assert page.status_code == 200 and b"DEMO New Union" in page.data
    response = client.post(
        f"/admin/partners/{partner_id}",
        data={
            "csrf_token": csrf_from(page.data),
            "code": "U-DEMO-NEW",
            "name": "DEMO New Union",
            "kind": "union",
            "scope": "regional",
            "pref_code": "27",
            "languages": "ne;vi",
            "categories": ["WAGE_UNPAID"],
            "eligibility": ["TITP"],
            "immigration_exposure": "y",
            "anonymous_ok": "no",
            "notify_email": "desk@new.demo.invalid",
            "sms_phone": "08011112222",
        },
    )
    assert response.status_code == 303, response.data
    with app.app_context():
        partner = db.session.get(Partner, partner_id)
        assert partner is not None
        assert partner.active is False  # the box was not ticked
        assert partner.immigration_exposure and partner.eligibility == "TITP"
        assert partners.sms_contact(partner) is not None
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.kind == "partner.updated"))
        assert event is not None and "immigration_exposure" in event.detail["fields"]


def test_an_invalid_form_is_shown_again(app: Flask) -> None:
    client = admin_client(app)
    page = client.get("/admin/partners/new")
    response = client.post(
        "/admin/partners/new",
        data={
            "csrf_token": csrf_from(page.data),
            "code": "G-OTIT",
            "name": "Dup",
            "kind": "ngo",
            "scope": "national",
        },
    )
    assert response.status_code == 400
    assert b"exists already" in response.data


def test_admin_imports_and_exports_through_the_pages(app: Flask) -> None:
    client = admin_client(app)
    listing = client.get("/admin/partners")
    assert listing.status_code == 200 and b"Houterasu" in listing.data
    export = client.get("/admin/partners/export.csv")
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    assert export.data.decode() == SEED_TEXT
    body = (
        SEED_TEXT
        + "N-DEMO-UP,DEMO Uploaded Desk,civil_society,NPO,,,national,en,LIFE_OTHER,yes,true,FICTIONAL\r\n"
    )
    response = client.post(
        "/admin/partners/import",
        data={
            "csrf_token": csrf_from(listing.data),
            "file": (io.BytesIO(body.encode("utf-8")), "partners.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with app.app_context():
        assert partners.partner_by_code("N-DEMO-UP") is not None
    broken = "org_code,name\r\nX,Y\r\n"
    response = client.post(
        "/admin/partners/import",
        data={
            "csrf_token": csrf_from(listing.data),
            "file": (io.BytesIO(broken.encode()), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert b"Nothing was changed" in response.data


def test_forms_need_the_csrf_token(app: Flask) -> None:
    client = admin_client(app)
    response = client.post("/admin/partners/new", data={"code": "X-1", "name": "No token"})
    assert response.status_code in (400, 200)
    with app.app_context():
        assert partners.partner_by_code("X-1") is None

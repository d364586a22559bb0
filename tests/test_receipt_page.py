"""The receipt page drawn once per language and kind, then filled in with
each report's codes (grievance.intake.receipt_page): the same page Jinja
draws, with the report's own codes."""

from __future__ import annotations

import pytest
from flask import Flask, flash, render_template
from flask.testing import FlaskClient

from grievance.cases.services import Receipt
from grievance.intake.receipt_page import receipt_page
from tests.test_intake_web import receipt_codes, submit


def _drawn_by_jinja(app: Flask, lang: str, codes: tuple[str, str], **kinds: bool) -> str:
    with app.test_request_context(f"/{lang}/report"):
        app.preprocess_request()  # the page's language, as for the form's request
        receipt = Receipt(reference=codes[0], secret=codes[1])
        return render_template("worker/receipt.html", receipt=receipt, **kinds)


@pytest.mark.parametrize(
    ("lang", "danger", "own_phone"),
    [("vi", "no", "own"), ("ja", "no", "shared"), ("en", "yes", "employer"), ("my", "no", "")],
)
def test_each_receipt_is_the_page_jinja_draws_with_its_own_codes(
    app: Flask, client: FlaskClient, lang: str, danger: str, own_phone: str
) -> None:
    kinds = {"in_danger": danger == "yes", "shared_phone": own_phone in ("shared", "employer")}
    pages = []
    for _ in range(2):
        response = submit(client, lang, danger, own_phone=own_phone)
        assert response.status_code == 200
        html = response.data.decode()
        codes = receipt_codes(response.data)
        assert html == _drawn_by_jinja(app, lang, codes, **kinds)
        pages.append((html, codes))
    (first, first_codes), (second, second_codes) = pages
    # The second receipt carries its own codes, none of the first's.
    assert first_codes != second_codes
    assert first_codes[0] not in second and first_codes[1] not in second
    assert second_codes[0] not in first and second_codes[1] not in first


def test_one_application_keeps_a_page_for_each_language_and_kind(
    app: Flask, client: FlaskClient
) -> None:
    for lang, own_phone in [("vi", "own"), ("ja", "own"), ("vi", "shared"), ("ja", "own")]:
        response = submit(client, lang, own_phone=own_phone)
        kinds = {"in_danger": False, "shared_phone": own_phone == "shared"}
        expected = _drawn_by_jinja(app, lang, receipt_codes(response.data), **kinds)
        assert response.data.decode() == expected


def test_a_waiting_message_is_shown_on_the_receipt(app: Flask) -> None:
    receipt = Receipt(reference="AAAA-BBBB", secret="CCCC-DDDD-EEEE-FFFF")
    with app.test_request_context("/en/report"):
        app.preprocess_request()
        kept = receipt_page(receipt, in_danger=False, shared_phone=False)
    with app.test_request_context("/en/report"):
        app.preprocess_request()
        flash("A message for this page", "info")
        page = receipt_page(receipt, in_danger=False, shared_phone=False)
    assert "A message for this page" not in kept
    assert "A message for this page" in page
    assert "AAAA-BBBB" in page and "CCCC-DDDD-EEEE-FFFF" in page


def test_codes_are_escaped_as_jinja_escapes_them(app: Flask) -> None:
    with app.test_request_context("/en/report"):
        app.preprocess_request()
        odd = Receipt(reference="<b>&", secret='"x"')
        page = receipt_page(odd, in_danger=False, shared_phone=False)
        assert page == render_template(
            "worker/receipt.html", receipt=odd, in_danger=False, shared_phone=False
        )
    assert "<b>&" not in page

"""The worker's short follow-up session, opened with the receipt.

The signed session cookie holds only the case's internal id and two times;
never the reference or the secret. It ends after 15 minutes without a
request, after one hour in any case, and at once with the Leave button.
Wrong receipts are counted per address (keyed hash, see ratelimit) and per
reference; after ten, every try waits, whether or not the reference exists.
"""

from __future__ import annotations

import time

from flask import session

from grievance import ratelimit
from grievance.cases import services as case_services
from grievance.cases.models import Case
from grievance.extensions import db
from grievance.intake import held

IDLE_SECONDS = 15 * 60
ABSOLUTE_SECONDS = 60 * 60
MAX_WRONG = 10
WRONG_WINDOW = 15 * 60


class TooManyTries(Exception):  # noqa: N818 - reads as the situation it names
    """Ten wrong receipts: wait before trying again."""


def _keys(reference: str) -> list[str]:
    ref = case_services.normalise_code(reference)
    return [ratelimit.client_key("receipt"), ratelimit.client_key("receipt-ref", ref)]


def open_with_receipt(reference: str, secret: str) -> Case | None:
    keys = _keys(reference)
    if any(ratelimit.count(key) >= MAX_WRONG for key in keys):
        raise TooManyTries
    case = case_services.find_by_receipt(reference, secret)
    if case is None:
        # Signed in before the job opened the report: open it now.
        case = held.open_by_receipt(reference, secret)
    if case is None:
        for key in keys:
            ratelimit.hit(key, WRONG_WINDOW)
        return None
    session.clear()
    now = int(time.time())
    session["w_case"] = case.id
    session["w_at"] = now
    session["w_seen"] = now
    return case


def current_case() -> Case | None:
    case_id = session.get("w_case")
    if case_id is None:
        return None
    now = int(time.time())
    if now - session.get("w_seen", 0) > IDLE_SECONDS or now - session.get("w_at", 0) > (
        ABSOLUTE_SECONDS
    ):
        leave()
        return None
    session["w_seen"] = now
    return db.session.get(Case, case_id)


def leave() -> None:
    session.clear()

"""Models: sealed fields round-trip, and the database holds no clear text.

These tests also run against PostgreSQL in the integration suite.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import select, text

from grievance import crypto
from grievance.cases import services
from grievance.cases.models import Case, Message
from grievance.datakeys import DataKey, KeyAtHand
from grievance.extensions import commit, db
from grievance.intake.models import HeldReport
from tests.conftest import make_case

CANARY = "CANARY-narrative-Nguyen-Van-A"
PHONE = "+819011112222"


def raw_column(table: str, column: str, row_id: int) -> bytes:
    value = db.session.execute(
        text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id}
    ).scalar_one()
    return bytes(value)


def test_case_round_trip_and_ciphertext_only(app: Flask) -> None:
    with app.app_context():
        case, receipt = make_case(
            narrative=CANARY,
            contact={"phone": PHONE},
            intermediaries={"employer": "Canary Farm KK"},
            categories=["WAGE_UNPAID", "DOC_RETAIN"],
        )
        case_id = case.id
        db.session.expunge_all()
        loaded = db.session.get(Case, case_id)
        assert loaded is not None
        assert loaded.narrative == CANARY
        assert json.loads(loaded.contact)["phone"] == PHONE
        assert {c.code for c in loaded.categories} == {"WAGE_UNPAID", "DOC_RETAIN"}
        for column in ("narrative_ct", "contact_ct", "intermediaries_ct"):
            stored = raw_column("cases", column, case_id)
            assert CANARY.encode() not in stored
            assert PHONE.encode() not in stored
            assert b"Canary Farm" not in stored
        # The receipt finds the case; a wrong secret does not.
        assert services.find_by_receipt(receipt.reference, receipt.secret).id == case_id
        wrong = receipt.secret[:-1] + ("2" if receipt.secret[-1] != "2" else "3")
        assert services.find_by_receipt(receipt.reference, wrong) is None


def test_receipt_carries_enough_randomness(app: Flask) -> None:
    import math

    with app.app_context():
        _, receipt = make_case()
    symbols = len(services.normalise_code(receipt.reference)) + len(
        services.normalise_code(receipt.secret)
    )
    assert symbols * math.log2(len(crypto.RECEIPT_ALPHABET)) >= 80


def test_ciphertext_copied_to_another_case_fails(app: Flask) -> None:
    with app.app_context():
        first, _ = make_case(narrative="first story")
        second, _ = make_case(narrative="second story")
        second_id = second.id
        second.narrative_ct = first.narrative_ct
        commit()
        db.session.expunge_all()
        with pytest.raises(crypto.DecryptionError):
            _ = db.session.get(Case, second_id).narrative


def test_message_moved_between_rows_fails(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case()
        a = Message(
            data_key=case.data_key,
            case_id=case.id,
            direction="in",
            channel="web",
            author_kind="worker",
        )
        a.body = "message A"
        b = Message(
            data_key=case.data_key,
            case_id=case.id,
            direction="in",
            channel="web",
            author_kind="worker",
        )
        b.body = "message B"
        db.session.add_all([a, b])
        commit()
        a_id, b_id = a.id, b.id
        b.body_ct = a.body_ct
        commit()
        db.session.expunge_all()
        assert db.session.get(Message, a_id).body == "message A"
        with pytest.raises(crypto.DecryptionError):
            _ = db.session.get(Message, b_id).body


def test_destroying_the_data_key_makes_the_case_unreadable(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case(narrative="to be forgotten")
        key_id, case_id = case.data_key_id, case.id
        case.data_key = None
        db.session.execute(DataKey.__table__.delete().where(DataKey.id == key_id))
        commit()
        db.session.expunge_all()
        with pytest.raises(crypto.DecryptionError):
            _ = db.session.get(Case, case_id).narrative


def test_data_keys_are_stored_only_wrapped(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case()
        clear = case.data_key.material()
        wrapped = db.session.scalar(select(DataKey.wrapped).where(DataKey.id == case.data_key_id))
        assert clear not in bytes(wrapped)
        ring = crypto.current_ring()
        for kek in ring.keks.values():
            assert kek not in bytes(wrapped)


def test_a_new_data_key_seals_with_the_key_it_stores(app: Flask) -> None:
    # A new key keeps its clear key from creation instead of unwrapping it:
    # what it seals must open under the key unwrapped from the stored row.
    with app.app_context():
        case, _ = make_case(narrative="sealed with a new key")
        case_id = case.id
        assert case.data_key.material() == crypto.unwrap_data_key(
            crypto.current_ring(), case.data_key.as_wrapped()
        )
        commit()
        db.session.expunge_all()
        assert db.session.get(Case, case_id).narrative == "sealed with a new key"


def test_a_key_at_hand_seals_as_the_model_reads(app: Flask) -> None:
    # Requests that write a row in one statement seal its fields without a
    # mapped instance: the model must read them back, and only in that row.
    with app.app_context():
        key = KeyAtHand.new()
        assert key.clear == crypto.unwrap_data_key(
            crypto.current_ring(),
            crypto.WrappedKey(dek_id=key.id, kek_id=key.kek_id, wrapped=key.wrapped),
        )
        db.session.add(DataKey(id=key.id, kek_id=key.kek_id, wrapped=key.wrapped))
        uid, other_uid = crypto.new_uid(), crypto.new_uid()
        for n, (row_uid, words) in enumerate(((uid, "hello"), (other_uid, "other"))):
            db.session.add(
                HeldReport(
                    uid=row_uid,
                    data_key_id=key.id,
                    reference=f"QUICKRF{n}",
                    secret_hash=b"not used here",
                    report_ct=key.seal(HeldReport, "report", row_uid, words),
                )
            )
        commit()
        db.session.expunge_all()
        row = db.session.scalar(select(HeldReport).where(HeldReport.uid == uid))
        assert row.report == "hello"
        # The same key unwrapped from its stored form seals alike.
        again = KeyAtHand.stored(key.id, key.kek_id, key.wrapped)
        assert again.clear == key.clear
        # Bound to its row: the envelope moved to another row does not open.
        other = db.session.scalar(select(HeldReport).where(HeldReport.uid == other_uid))
        assert other.report == "other"
        other.report_ct = row.report_ct
        with pytest.raises(crypto.DecryptionError):
            _ = other.report
        db.session.rollback()


def test_encrypted_column_rejects_a_plain_write(app: Flask) -> None:
    with app.app_context():
        case, _ = make_case()
        case.narrative_ct = b"plain words"
        with pytest.raises(Exception, match="unsealed"):
            commit()
        db.session.rollback()


def test_due_time_follows_urgency(app: Flask) -> None:
    with app.app_context():
        urgent, _ = make_case(in_danger=True)
        assert urgent.urgency == "P0"
        hours = (urgent.due_at - urgent.created_at).total_seconds() / 3600
        assert hours == pytest.approx(1)
        standard, _ = make_case(urgency="P3")
        assert (standard.due_at - standard.created_at).days >= 5


def test_column_rows_sees_what_the_session_has_not_flushed(app: Flask) -> None:
    from grievance.extensions import column_rows

    with app.app_context():
        case, _receipt = make_case(narrative="x")
        commit()
        case_id, reference = case.id, case.reference
        case.unread_count = 7  # pending in the session, not yet written
        rows = column_rows(select(Case.reference, Case.unread_count).where(Case.id == case_id))
        assert [tuple(r) for r in rows] == [(reference, 7)]
        db.session.rollback()

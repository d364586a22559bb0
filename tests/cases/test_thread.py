"""The case page's thread: plain columns, each body opened with the key it
was sealed under."""

from __future__ import annotations

import pytest
from flask import Flask

from grievance import crypto
from grievance.cases import casework
from grievance.cases.models import Message
from grievance.datakeys import DataKey
from grievance.extensions import commit, db
from tests.cases.referral_helpers import build, case_of
from tests.test_reference_cache import StatementCounter


def add_message(case_id: int, key: DataKey, text: str) -> None:
    message = Message(
        data_key=key, case_id=case_id, direction="in", channel="sms", author_kind="worker"
    )
    message.body = text
    db.session.add(message)


def test_the_thread_is_one_read_and_opens_every_body(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case = case_of(world)
        for n in range(3):
            add_message(case.id, case.data_key, f"message {n}")
        commit()
        db.session.expunge_all()
        case = case_of(world)
        with StatementCounter() as counter:
            page = casework.thread(case, total=3)
        assert len(counter.statements) == 1 and "data_keys" not in counter.statements[0]
        assert [m.body for m in page.messages] == ["message 0", "message 1", "message 2"]
        assert page.earlier is None and page.latest


def test_a_message_under_another_key_is_opened_with_that_key(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case = case_of(world)
        other = DataKey.create()
        db.session.add(other)
        add_message(case.id, case.data_key, "under the case's key")
        add_message(case.id, other, "under its own key")
        commit()
        db.session.expunge_all()
        page = casework.thread(case_of(world), total=2)
        assert [m.body for m in page.messages] == ["under the case's key", "under its own key"]


def test_a_body_copied_to_another_message_does_not_open(app: Flask) -> None:
    """The envelope stays bound to its own row (table, field, uid, key)."""
    world = build(app)
    with app.app_context():
        case = case_of(world)
        add_message(case.id, case.data_key, "first")
        add_message(case.id, case.data_key, "second")
        commit()
        first, second = db.session.query(Message).order_by(Message.id).all()
        second.body_ct = first.body_ct
        commit()
        db.session.expunge_all()
        page = casework.thread(case_of(world), total=2)
        assert page.messages[0].body == "first"
        with pytest.raises(crypto.DecryptionError):
            _ = page.messages[1].body

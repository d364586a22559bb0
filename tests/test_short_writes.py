"""A unit of work of a few statements built once (grievance.short_writes):
on a pooled connection of its own when the request has not used its ORM
session, in the session's transaction when it has; committed when the block
ends, and what waited for the commit run after it. Its statements are run
on the driver's connection with the values converted as SQLAlchemy would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grievance import crypto
from grievance.datakeys import DataKey, KeyAtHand, as_utc
from grievance.extensions import after_commit, bound, commit, db
from grievance.intake.models import HeldReport, InboundMessage
from grievance.short_writes import unit
from tests.conftest import QueuedRunner
from tests.test_intake_web import submit
from tests.test_webhooks import Phone

KEYS = DataKey.__table__
INSERT_KEY = insert(KEYS).values(bound(KEYS, ["id", "kek_id", "wrapped", "created_at"]))


def _key_row() -> dict[str, object]:
    key = KeyAtHand.new()
    return {
        "id": key.id,
        "kek_id": key.kek_id,
        "wrapped": key.wrapped,
        "created_at": datetime.now(UTC),
    }


def _keys(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(DataKey)) or 0)


@pytest.fixture
def sessions_begun() -> Iterator[list[Session]]:
    """Every ORM session transaction begun while the test runs."""
    begun: list[Session] = []

    def record(session: Session, _transaction: object, _connection: object) -> None:
        begun.append(session)

    event.listen(Session, "after_begin", record)
    yield begun
    event.remove(Session, "after_begin", record)


def test_without_the_session_the_unit_commits_on_its_own_then_runs_callbacks(
    app: Flask,
) -> None:
    ran: list[int] = []
    with app.app_context():
        with unit() as unit_:
            unit_.execute(INSERT_KEY, _key_row())
            after_commit(lambda: ran.append(_keys(app)))
            assert ran == []  # not before the commit
        # The callback saw the row committed (another session counted it).
        assert ran == [1]
        commit()  # nothing left to commit
        # This app context never built an ORM session (the callback's count
        # ran in an app context of its own).
        assert not db.session.registry.has()
    assert _keys(app) == 1


def test_a_unit_that_fails_commits_nothing_and_runs_no_callback(app: Flask) -> None:
    ran: list[str] = []
    with app.app_context():
        with pytest.raises(RuntimeError), unit() as unit_:
            unit_.execute(INSERT_KEY, _key_row())
            after_commit(lambda: ran.append("woken"))
            raise RuntimeError("after the statement")
    assert ran == [] and _keys(app) == 0


def test_after_the_session_was_used_the_unit_joins_its_transaction(app: Flask) -> None:
    with app.app_context():
        # The request wrote through its session first (files kept, say).
        db.session.execute(INSERT_KEY, _key_row())
        with pytest.raises(RuntimeError), unit() as unit_:
            assert unit_._connection is db.session.connection().connection.dbapi_connection
            unit_.execute(INSERT_KEY, _key_row())
            raise RuntimeError("after the statement")
        db.session.rollback()
    # One unit: the session's row went with the block's.
    assert _keys(app) == 0
    ran: list[int] = []
    with app.app_context():
        db.session.execute(INSERT_KEY, _key_row())
        with unit() as unit_:
            unit_.execute(INSERT_KEY, _key_row())
            after_commit(lambda: ran.append(_keys(app)))
        assert ran == [2]
    assert _keys(app) == 2


def test_values_are_converted_as_sqlalchemy_would_and_errors_raised_as_its(
    app: Flask,
) -> None:
    with app.app_context():
        row = _key_row()
        row["created_at"] = datetime(2026, 12, 5, 6, 7, 8, 901234, tzinfo=UTC)
        with unit() as unit_:
            assert unit_.rowcount(INSERT_KEY, row) == 1
        stored = db.session.get(DataKey, row["id"])
        # Read back by the ORM as written: the date in SQLite's stored form.
        assert stored is not None and stored.wrapped == row["wrapped"]
        assert as_utc(stored.created_at) == row["created_at"]
        with pytest.raises(IntegrityError), unit() as unit_:
            unit_.execute(INSERT_KEY, row)  # the same id again
        db.session.rollback()
        # A sealed column takes sealed bytes only, here as through the ORM.
        seal = update(HeldReport.__table__).values(report_ct=bindparam("report_ct"))
        with pytest.raises(crypto.CryptoError), unit() as unit_:
            unit_.execute(seal, {"report_ct": b"clear words"})
        with unit() as unit_:
            assert unit_.scalar(select(KEYS.c.kek_id).where(KEYS.c.id == "nothing"), {}) is None
    assert _keys(app) == 1


def test_a_report_and_a_webhook_build_no_orm_session(
    app: Flask, client: FlaskClient, sessions_begun: list[Session]
) -> None:
    runner = QueuedRunner()
    app.extensions["grievance.runner"] = runner
    phone = Phone(app, client, "+819011112222")
    sessions_begun.clear()
    assert phone.post(phone.params("hi")).status_code == 200
    assert phone.post(phone.params("1")).status_code == 200  # a known number now
    assert submit(client).status_code == 200
    begun_by_requests = list(sessions_begun)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 2
        assert db.session.scalar(select(func.count()).select_from(HeldReport)) == 1
    # Stored and committed, and the jobs woken after the commits, without
    # one ORM transaction (the report form's page before it opens none).
    assert begun_by_requests == []
    assert runner.jobs == [("handle_waiting_inbound", ()), ("open_held_reports", ())]

"""A unit of work of a few Core statements (grievance.short_writes): on a
connection of its own when the request has not used its ORM session, in the
session's transaction when it has; committed when the block ends, and what
waited for the commit run after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from grievance.datakeys import DataKey, KeyAtHand
from grievance.extensions import after_commit, commit, db
from grievance.intake.models import HeldReport, InboundMessage
from grievance.short_writes import unit
from tests.conftest import QueuedRunner
from tests.test_intake_web import submit
from tests.test_webhooks import Phone


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
        with unit() as connection:
            connection.execute(insert(DataKey.__table__), _key_row())
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
        with pytest.raises(RuntimeError), unit() as connection:
            connection.execute(insert(DataKey.__table__), _key_row())
            after_commit(lambda: ran.append("woken"))
            raise RuntimeError("after the statement")
    assert ran == [] and _keys(app) == 0


def test_after_the_session_was_used_the_unit_joins_its_transaction(app: Flask) -> None:
    with app.app_context():
        # The request wrote through its session first (files kept, say).
        db.session.execute(insert(DataKey.__table__), _key_row())
        with pytest.raises(RuntimeError), unit() as connection:
            assert connection is db.session.connection()
            connection.execute(insert(DataKey.__table__), _key_row())
            raise RuntimeError("after the statement")
        db.session.rollback()
    # One unit: the session's row went with the block's.
    assert _keys(app) == 0
    ran: list[int] = []
    with app.app_context():
        db.session.execute(insert(DataKey.__table__), _key_row())
        with unit() as connection:
            connection.execute(insert(DataKey.__table__), _key_row())
            after_commit(lambda: ran.append(_keys(app)))
        assert ran == [2]
    assert _keys(app) == 2


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

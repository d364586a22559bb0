"""The audit chain on PostgreSQL, where an event and the head's new hash
are written by one statement (grievance.cases.audit)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from grievance.cases import audit, casework
from grievance.cases.models import AuditHead, CaseEvent
from grievance.extensions import commit, db
from tests.conftest import make_case, make_staff
from tests.test_reference_cache import StatementCounter


def test_each_event_moves_the_head_and_the_chain_verifies(app: Flask) -> None:
    with app.app_context():
        actor, _ = make_staff()
        case, _ = make_case()
        case_id, actor_id = case.id, actor.id
        with StatementCounter() as counter:
            audit.record("case.viewed", case_id=case_id, actor_id=actor_id)
        # The head's advance, then the event with the head's new hash.
        assert len(counter.statements) == 2
        for n in range(5):
            casework.add_note(actor, case, f"note {n}")
        commit()
        head = db.session.get(AuditHead, 1)
        assert head is not None
        newest = db.session.scalar(select(CaseEvent).order_by(CaseEvent.seq.desc()).limit(1))
        assert newest is not None
        assert (head.seq, head.last_hash) == (newest.seq, newest.hash)
        assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == head.seq
        report = audit.verify_chain()
        assert report.ok and report.events == head.seq


def test_an_event_rolled_back_leaves_the_head_as_it_was(app: Flask) -> None:
    with app.app_context():
        actor, _ = make_staff()
        case, _ = make_case()
        commit()
        before = db.session.execute(select(AuditHead.seq, AuditHead.last_hash)).one()
        audit.record("case.viewed", case_id=case.id, actor_id=actor.id)
        db.session.rollback()
        assert db.session.execute(select(AuditHead.seq, AuditHead.last_hash)).one() == before
        casework.add_note(actor, case, "after the rollback")
        commit()
        assert audit.verify_chain().ok

"""The audit chain on PostgreSQL, where an event and the head's new hash
are written by one statement (grievance.cases.audit)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import func, select

from grievance.cases import audit, casework
from grievance.cases.models import AuditHead, Case, CaseEvent, CaseViewCount
from grievance.extensions import commit, db
from grievance.staff.models import StaffUser
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


def test_writers_at_once_keep_one_unbroken_chain(app: Flask) -> None:
    """Views written on their own (head read, then moved only if unmoved)
    and other events (the head locked) from several connections at once:
    every event is chained once, in order, and each view is counted."""
    with app.app_context():
        actor, _ = make_staff()
        case, _ = make_case()
        commit()
        actor_id, case_id = actor.id, case.id
    views_each, writers = 40, 4

    def write(n: int) -> None:
        with app.app_context():
            who = db.session.get(StaffUser, actor_id)
            seen = db.session.get(Case, case_id)
            assert who is not None and seen is not None
            for i in range(views_each):
                if n == 0 and i % 4 == 0:
                    casework.add_note(who, seen, f"note {i}")  # the locking path
                else:
                    casework.view_case(who, seen)
                commit()

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    with app.app_context():
        head = db.session.get(AuditHead, 1)
        assert head is not None
        events = db.session.scalar(select(func.count()).select_from(CaseEvent))
        assert events == head.seq
        report = audit.verify_chain()
        assert report.ok, report
        views = db.session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == "case.viewed")
        )
        assert views == writers * views_each - views_each // 4
        counted = db.session.scalar(
            select(CaseViewCount.views).where(CaseViewCount.case_id == case_id)
        )
        assert counted == views

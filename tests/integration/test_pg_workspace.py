"""The caseworker workspace on PostgreSQL: queue, actions, reminders,
seed-bulk and the tamper-evident audit trail, plus the queue's index plans."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select, text

from grievance.cases import queue
from grievance.cases.models import Case
from grievance.cases.queue import QueueFilters
from grievance.datakeys import utcnow
from grievance.extensions import db
from grievance.seed.bulk import seed_bulk
from tests.cases.test_audit_chain import (  # noqa: F401
    test_an_untouched_chain_verifies_after_many_events,
    test_verify_audit_catches_tampering,
)
from tests.cases.test_queue import (  # noqa: F401
    test_a_case_arriving_between_pages_is_neither_lost_nor_repeated,
    test_closed_and_resolved_cases_leave_the_default_view,
    test_filters,
    test_keyset_pages_cover_everything_once_in_order,
    test_order_is_urgency_then_due_time,
    test_workload_counts_open_cases_per_person,
)
from tests.cases.test_reminders import *  # noqa: F403
from tests.cases.test_seed_bulk import test_seed_bulk_makes_a_realistic_sealed_mix  # noqa: F401
from tests.cases.test_triage import *  # noqa: F403
from tests.cases.test_workspace_views import *  # noqa: F403


def explain(statement: object, options: str = "") -> str:
    """PostgreSQL's plan for `statement`, its values written in; `options`
    as EXPLAIN takes them, e.g. "(ANALYZE, BUFFERS)" to run it too."""
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    rows = db.session.execute(text(f"EXPLAIN {options} {compiled}")).all()
    return "\n".join(r[0] for r in rows)


def test_queue_queries_can_use_the_partial_indices_on_postgresql(app: Flask) -> None:
    """With sequential scans ruled out, each per-urgency query is an index
    scan on an open-case index, already in order (no Sort node): the
    predicate in the query matches the partial index's."""
    with app.app_context():
        seed_bulk(2000, seed=5)
        db.session.execute(text("ANALYZE cases"))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        now = utcnow()
        # Which open index wins is the planner's cost call (at this size a
        # wide covering scan may beat the filtered column's); what matters is
        # that a partial index answers in order, whatever the filter.
        for filters, index in (
            (QueueFilters(), "ix_cases_open_queue"),
            (QueueFilters(language="vi"), "ix_cases_open_"),
            (QueueFilters(prefecture="23"), "ix_cases_open_"),
            (QueueFilters(assignee="unassigned"), "ix_cases_open_"),
            (QueueFilters(overdue=True), "ix_cases_open_queue"),
        ):
            statement = queue._page_statement(filters, "P2", 51, False).params(now=now, me_id=-1)
            plan = explain(statement)
            assert index in plan, plan
            assert "Sort" not in plan, plan
        db.session.rollback()


def test_the_written_after_closing_list_reads_its_partial_index_on_postgresql(
    app: Flask,
) -> None:
    with app.app_context():
        seed_bulk(2000, seed=6)
        db.session.execute(text("ANALYZE cases"))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = explain(queue.after_closing_statement())
        assert plan.count("Backward using ix_cases_written_after_closing") == 2, plan
        assert "Sort" not in plan and "Parallel" not in plan, plan
        db.session.rollback()


def test_bulk_ids_leave_the_sequence_ahead(app: Flask) -> None:
    from tests.conftest import make_case

    with app.app_context():
        seed_bulk(300, seed=9)
        case, _ = make_case()
        assert case.id == db.session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
        assert case.id > 300

"""Case views on PostgreSQL: counted with their event (the counter's upsert),
and left out of the timeline's reads however many there are."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text

from grievance.cases import casework, queries, timeline
from grievance.extensions import commit, db
from grievance.seed.bulk import seed_bulk
from tests.cases.test_case_views import (  # noqa: F401
    test_a_view_is_counted_with_its_event_or_not_at_all,
    test_the_count_goes_with_its_case_when_the_case_is_purged,
    test_the_timeline_lists_views_in_the_chains_order_only_when_asked,
)
from tests.conftest import make_case, make_staff
from tests.integration.test_pg_workspace import explain
from tests.test_reference_cache import StatementCounter


def explain_analyze(statement: object) -> str:
    return explain(statement, "(ANALYZE, BUFFERS)")


def test_a_case_seen_hundreds_of_times_reads_its_timeline_past_no_view(app: Flask) -> None:
    """As in the benchmark: the statistics were taken before the case was
    made and viewed (autovacuum has not come round yet). The timeline still reads
    the index without views, and the count is one row, not the events."""
    with app.app_context():
        seed_bulk(2000, seed=7)
        db.session.execute(text("ANALYZE case_events"))
        actor, _ = make_staff()
        case, _ = make_case()
        for _ in range(400):
            casework.view_case(actor, case)
        commit()
        found = queries.case_with_parts(case.reference)
        assert found is not None and found[1].views == 400
        plan = explain_analyze(timeline.events_statement(False).params(case_id=case.id))
        assert "ix_case_events_story" in plan, plan
        assert "Rows Removed by Filter" not in plan, plan
        plan = explain_analyze(timeline.events_statement(True).params(case_id=case.id))
        assert "ix_case_events_views" in plan and "ix_case_events_story" in plan, plan
        assert "Seq Scan" not in plan, plan
        db.session.rollback()


def test_a_view_is_counted_in_its_events_statement(app: Flask) -> None:
    """Two statements a view: the head read, then one that moves it, writes
    the event and counts the view, as its own transaction."""
    with app.app_context():
        actor, _ = make_staff()
        case, _ = make_case()
        commit()
        with StatementCounter() as counter:
            casework.view_case(actor, case)
        # (Besides the case's own columns, read again after the commit.)
        audit = [s for s in counter.statements if "audit_head" in s]
        assert len(audit) == 2, counter.statements
        head, write = audit
        assert head.lstrip().upper().startswith("SELECT") and "audit_head" in head
        assert "UPDATE audit_head" in write and "case_view_counts" in write, write
        assert "ON CONFLICT" in write, write
        commit()
        casework.view_case(actor, case)
        commit()
        found = queries.case_with_parts(case.reference)
        assert found is not None and found[1].views == 2

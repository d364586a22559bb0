"""Case views: each is an audit event and one more on the case's count, in
the same transaction; the timeline reads the case's events through the
partial index that leaves the views out."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select, text

from grievance.cases import audit, casework, queries, retention, timeline
from grievance.cases import queue as work_queue
from grievance.cases.models import CaseEvent, CaseViewCount
from grievance.extensions import commit, db
from tests.cases.referral_helpers import World, build, case_of, caseworker


def views_of(reference: str) -> int:
    db.session.expunge_all()
    found = queries.case_with_parts(reference)
    assert found is not None
    return found[1].views


def view_events(case_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count()).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == "case.viewed"
            )
        )
        or 0
    )


def view(world: World, times: int = 1) -> None:
    """The caseworker opens the case `times` times, each view committed."""
    for _ in range(times):
        casework.view_case(caseworker(world), case_of(world))
        commit()


def test_a_view_is_counted_with_its_event_or_not_at_all(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case_id = case_of(world).id
        assert views_of(world.reference) == 0
        casework.view_case(caseworker(world), case_of(world))
        db.session.rollback()  # the request failed after recording the view
        # Neither the event nor the count; on PostgreSQL a view that is all
        # its request writes is its own transaction (grievance.cases.audit):
        # then both stay.
        kept = 1 if db.engine.dialect.name == "postgresql" else 0
        assert views_of(world.reference) == kept
        assert view_events(case_id) == kept
        view(world, times=3)
        assert views_of(world.reference) == 3 + kept
        assert view_events(case_id) == 3 + kept


def test_the_count_goes_with_its_case_when_the_case_is_purged(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case_id = case_of(world).id
        view(world)
        assert db.session.get(CaseViewCount, case_id) is not None
        assert retention.purge_cases([case_id]) == 1
        commit()
        db.session.expunge_all()
        assert db.session.get(CaseViewCount, case_id) is None
        # The events stay in the chain.
        assert view_events(case_id) == 1


def test_the_timeline_lists_views_in_the_chains_order_only_when_asked(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case_id = case_of(world).id
        view(world)
        audit.record("case.note_added", case_id=case_id, actor_id=world.caseworker_id)
        view(world)
        kinds = [line.kind for line in timeline.timeline(case_id)]
        assert "case.viewed" not in kinds and kinds[-1] == "case.note_added"
        with_views = [line.kind for line in timeline.timeline(case_id, include_views=True)]
        assert with_views[-3:] == ["case.viewed", "case.note_added", "case.viewed"]
        assert len(with_views) == len(kinds) + 2


def test_a_timeline_line_reads_its_events_detail_and_names_its_staff(app: Flask) -> None:
    """The lines are made from plain columns: the JSON detail comes back as a
    dict, and the staff it names (the actor, the new assignee) by name."""
    world = build(app)
    with app.app_context():
        me = caseworker(world)
        casework.assign_case(me, case_of(world), me.id)
        commit()
        [line] = [x for x in timeline.timeline(case_of(world).id) if x.kind == "case.assigned"]
        names = work_queue.staff_labels({me.id})
        assert line.actor == names[me.id]
        assert line.text.endswith("→ " + names[me.id])


def plan(statement: object) -> list[str]:
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    return [str(row[-1]) for row in db.session.execute(text("EXPLAIN QUERY PLAN " + str(compiled)))]


def test_the_timeline_reads_the_partial_indexes_on_sqlite(app: Flask) -> None:
    """Without views: the index that leaves them out, already in order. With
    them: each partial index once. No scan of the events table."""
    world = build(app)
    with app.app_context():
        case_id = case_of(world).id
        steps = plan(timeline.events_statement(False).params(case_id=case_id))
        assert any("ix_case_events_story" in step for step in steps), steps
        assert not [s for s in steps if s.startswith("SCAN") or "TEMP B-TREE" in s], steps
        steps = plan(timeline.events_statement(True).params(case_id=case_id))
        assert any("ix_case_events_story" in step for step in steps), steps
        assert any("ix_case_events_views" in step for step in steps), steps
        assert not [s for s in steps if s.startswith("SCAN case_events")], steps

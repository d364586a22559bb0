"""The roll-up the reports read: histogram precision, freshness, and purges
that never count a case twice."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from grievance.cases import retention
from grievance.datakeys import utcnow
from grievance.extensions import commit
from grievance.notify.jobs import run_periodic
from grievance.reports import queries, rollup
from grievance.reports.period import Period
from tests.conftest import make_case


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    # As in production: reports read the roll-up the periodic task leaves.
    return {"REPORTS_ROLLUP_SECONDS": 300}


def acknowledged_after(hours: float, *, days_ago: int = 20) -> None:
    case, _ = make_case(narrative="Wages unpaid.")
    opened = utcnow() - timedelta(days=days_ago)
    case.created_at = opened
    case.acknowledged_at = opened + timedelta(hours=hours)
    commit()


@pytest.mark.parametrize("low", [3.0, 30.0, 200.0, 1000.0])
def test_percentiles_within_one_bucket_of_the_truth(app: Flask, low: float) -> None:
    """Many durations in few buckets: the histogram's percentiles stay within
    one bucket width (a tenth of an hour below 48 h, an hour below 30 days,
    a day beyond) of the exact ones."""
    width = rollup.bucket_width(int(low * 10)) / 10
    hours = [low + i * width * 0.37 for i in range(40)]
    with app.app_context():
        for h in hours:
            acknowledged_after(h, days_ago=60)
        rollup.refresh()
        ack = queries.durations(Period.ending(months=12))["ack_time"]
    exact = statistics.quantiles(hours, n=10, method="inclusive")
    assert ack.count == len(hours)
    assert ack.median == pytest.approx(statistics.median(hours), abs=width)
    assert ack.p90 == pytest.approx(exact[8], abs=width)


def test_bucket_edges_fall_on_every_band_edge() -> None:
    """Each duration band of the statistics starts where a bucket starts, so
    the band counts read from the histogram are exact."""
    for edge, _ in queries.DURATION_BUCKETS:
        tenths = int(edge * 10)
        below = tenths - 1
        start_below = below - below % rollup.bucket_width(below)
        assert start_below + rollup.bucket_width(start_below) == tenths, edge


def test_reports_read_the_rollup_until_the_task_runs(app: Flask) -> None:
    now = utcnow()
    period = Period.ending(now)
    with app.app_context():
        make_case(narrative="First case.")
        assert run_periodic()["report_rollup"] > 0
        first = queries.build_report(period)
        assert first.total == 1 and first.snapshot.open_cases == 1
        make_case(narrative="Second case.")
        # Fresh enough: the task leaves it, and reports keep the old numbers.
        assert run_periodic()["report_rollup"] == 0
        assert queries.build_report(period).total == 1
        # A period later the task recomputes it.
        rollup.refresh(utcnow() - timedelta(seconds=301))
        assert run_periodic()["report_rollup"] > 0
        assert queries.build_report(period).total == 2


def test_a_report_computes_a_missing_rollup_and_serves_an_old_one_with_its_time(
    app: Flask,
) -> None:
    """Recounting every case inside a page view could take longer than a
    browser waits: only a missing roll-up is computed there; an old one is
    served, and the page shows when it was computed."""
    with app.app_context():
        make_case(narrative="A case.")
        first = queries.build_report(Period.ending())
        assert first.total == 1
        assert (utcnow() - first.generated_at).total_seconds() < 60
        hour_ago = utcnow() - timedelta(hours=1)
        rollup.refresh(hour_ago)
        make_case(narrative="Another.")
        data = queries.build_report(Period.ending())
        assert data.total == 1
        assert abs((data.generated_at - hour_ago).total_seconds()) < 1
        assert run_periodic()["report_rollup"] > 0
        assert queries.build_report(Period.ending()).total == 2


def test_a_purge_never_counts_a_case_twice(app: Flask) -> None:
    """A purged case leaves the roll-up in the very transaction that folds it
    into the kept counts: every report, at any moment of a purge, counts it
    once."""
    with app.app_context():
        cases = [make_case(narrative=f"Case {i}.", language="vi")[0] for i in range(3)]
        rollup.refresh()
        period = Period.ending(months=120)
        before = queries.build_report(period)
        assert before.total == 3 and before.snapshot.open_cases == 3
        retention.purge_cases([cases[0].id])
        commit()
        during = queries.build_report(period)
        assert during.total == 3
        assert during.dimensions == before.dimensions
        assert during.snapshot.open_cases == 2
        closed = utcnow() - timedelta(days=2000)
        for case in cases[1:]:
            case.status, case.closed_at = "closed", closed
        commit()
        assert retention.purge_expired() == 2
        after = queries.build_report(period)
        assert after.total == 3 and after.snapshot.open_cases == 0
        assert after.counts("language") == {"vi": 3}


def test_two_workers_refresh_once_per_period(app: Flask) -> None:
    """Every worker runs the periodic round: the second one to take the lock
    finds the roll-up just computed and leaves it."""
    with app.app_context():
        make_case(narrative="A case.")
        assert rollup.refresh(unless_younger_than=300) > 0
        first = rollup.computed_at()
        assert rollup.refresh(unless_younger_than=300) == 0
        assert rollup.computed_at() == first
        assert rollup.refresh() > 0

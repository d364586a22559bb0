"""Reports and retention on the real PostgreSQL and Redis.

The SQL differs by database (months, durations, percentile_cont, row locks),
so the unit tests of the numbers and of the purge run here again, and a few
things only a server can show are added: two purges at once, and the daily
purge elected through Redis.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask
from redis import Redis
from sqlalchemy import func, select

from grievance.cases import retention
from grievance.cases.models import AggregateCount, Case
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from tests.conftest import make_case
from tests.test_reports import (  # noqa: F401 - collected and run on PostgreSQL
    test_acknowledgement_deadline_indicator,
    test_dashboard_draws_svg_charts_with_tables,
    test_export_prints_a_category_of_three_as_under_five,
    test_joint_counts_equal_one_query_per_dimension,
    test_legal_advice_counts_referrals_taken_up_by_lawyers,
    test_percentiles_match_the_textbook_definition,
    test_public_statistics_are_off_by_default,
    test_repeat_employers_are_counted_by_key_only,
)
from tests.test_retention import (  # noqa: F401 - collected and run on PostgreSQL
    full_case,
    purge_and_check_nothing_is_left,
    test_an_interrupted_purge_resumes_without_counting_twice,
    test_cli_dry_run_changes_nothing_then_purges,
    test_reopened_and_open_cases_are_never_purged,
    test_retention_period_comes_from_the_admin_setting,
)


def test_purge_leaves_no_ciphertext_and_no_wrapped_key_on_postgresql(app: Flask) -> None:
    with app.app_context():
        purge_and_check_nothing_is_left()


def test_two_purges_at_once_fold_each_case_once(app: Flask) -> None:
    """Row locks (FOR UPDATE SKIP LOCKED): concurrent purges share the work."""
    with app.app_context():
        for i in range(12):
            case, _ = make_case(narrative=f"story {i}")
            case.status = "closed"
            case.closed_at = utcnow() - timedelta(days=900)
        commit()
    results: list[int] = []
    errors: list[BaseException] = []

    def purge() -> None:
        try:
            with app.app_context():
                results.append(retention.purge_expired(batch_size=2))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=purge) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(results) == 12
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
        total = db.session.scalar(
            select(func.sum(AggregateCount.count)).where(AggregateCount.dimension == "total")
        )
        assert total == 12


def test_the_daily_purge_runs_once_a_day_across_workers(app: Flask, redis_conn: Redis) -> None:
    with app.app_context():
        full_case(closed_days_ago=1000)
        full_case(closed_days_ago=1000)
    now = utcnow()
    # Several workers tick at once: one of them purges, the others see the
    # day taken.
    outcomes: list[int | None] = []

    def tick() -> None:
        outcomes.append(retention.daily_tick(app, redis_conn, now=now))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes, key=lambda x: -1 if x is None else x) == [None, None, None, 2]
    assert retention.daily_tick(app, redis_conn, now=now) is None
    # The next day is a new day.
    with app.app_context():
        full_case(closed_days_ago=1000)
    assert retention.daily_tick(app, redis_conn, now=now + timedelta(days=1)) == 1
    keys = [k.decode() for k in redis_conn.keys("grievance:retention:*")]
    assert len(keys) == 2 and all(0 < redis_conn.ttl(k) <= retention.LOCK_SECONDS for k in keys)

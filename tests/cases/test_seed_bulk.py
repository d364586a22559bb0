"""`flask grievance seed-bulk`: a realistic, sealed synthetic data set."""

from __future__ import annotations

import re
from collections import Counter

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text

from config import TestingConfig
from grievance import create_app, crypto
from grievance.cases import audit
from grievance.cases.models import Case, Message, case_categories
from grievance.cases.workspace_models import OPEN_STATUSES
from grievance.extensions import db
from grievance.seed import bulk
from tests.conftest import make_case


def test_seed_bulk_makes_a_realistic_sealed_mix(app: Flask, runner: FlaskCliRunner) -> None:
    with app.app_context():
        before, _ = make_case(narrative="a real case made before")
        before_id = before.id
    result = runner.invoke(args=["grievance", "seed-bulk", "--cases", "3000", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "synthetic cases added: 3000" in result.output
    with app.app_context():
        cases = db.session.execute(
            select(Case.id, Case.reference, Case.language, Case.urgency, Case.status, Case.channel)
        ).all()
        assert len(cases) == 3001
        languages = Counter(c.language for c in cases)
        urgencies = Counter(c.urgency for c in cases)
        statuses = Counter(c.status for c in cases)
        assert len(languages) >= 16 and languages.most_common(1)[0][0] == "vi"
        assert set(urgencies) == {"P0", "P1", "P2", "P3"}
        assert 0 < urgencies["P0"] < urgencies["P1"] < urgencies["P2"]
        open_share = sum(statuses[s] for s in OPEN_STATUSES) / len(cases)
        assert 0.05 < open_share < 0.5, statuses
        assert statuses["closed"] > len(cases) / 3
        assert {c.channel for c in cases} == {"web", "sms", "whatsapp"}
        references = [c.reference for c in cases]
        assert len(set(references)) == len(references)
        alphabet = re.compile(f"^[{crypto.RECEIPT_ALPHABET}]{{8}}$")
        assert all(alphabet.match(r) for r in references)
        with_categories = db.session.scalar(
            select(func.count(func.distinct(case_categories.c.case_id)))
        )
        assert with_categories >= 3000
        # Narratives decrypt like any case's, and the database holds only ciphertext.
        sample = db.session.scalars(select(Case).where(Case.id > before_id).limit(20)).all()
        for case in sample:
            story = case.narrative
            assert story
            raw = db.session.execute(
                text("SELECT narrative_ct FROM cases WHERE id = :i"), {"i": case.id}
            ).scalar_one()
            assert story.encode() not in bytes(raw)
            assert case.data_key_id != before.data_key_id
        assert_threads_are_realistic(before_id)
        if db.engine.dialect.name == "sqlite":
            assert_dates_are_written_as_the_model_writes_them(before_id)
        # The real case is untouched; new cases still get fresh ids afterwards.
        assert db.session.get(Case, before_id).narrative == "a real case made before"
        after, _ = make_case()
        assert after.id > max(c.id for c in cases)
        assert audit.verify_chain().ok


def assert_dates_are_written_as_the_model_writes_them(real_id: int) -> None:
    """SQLite compares dates as text (the queue's "overdue", the reports'
    periods): the seeded rows' dates must have the very form the model
    writes, to the microsecond, in UTC, including the columns that are
    empty on the first row of a batch."""
    form = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
    real = db.session.execute(
        text("SELECT created_at FROM cases WHERE id = :i"), {"i": real_id}
    ).scalar_one()
    assert form.match(real), real
    for column in ("created_at", "due_at", "acknowledged_at", "resolved_at", "closed_at"):
        written = db.session.scalars(
            text(f"SELECT {column} FROM cases WHERE id > :i AND {column} IS NOT NULL ORDER BY id"),
            {"i": real_id},
        ).all()
        assert written, column
        assert all(form.match(value) for value in written), column
        # Read back through the model, the same moments, in UTC.
        typed = db.session.scalars(
            select(getattr(Case, column))
            .where(Case.id > real_id, getattr(Case, column).is_not(None))
            .order_by(Case.id)
        ).all()
        assert [t.strftime("%Y-%m-%d %H:%M:%S.%f") for t in typed] == written, column
    messages = db.session.scalars(text("SELECT created_at FROM messages")).all()
    assert messages and all(form.match(value) for value in messages)


def assert_threads_are_realistic(after_id: int) -> None:
    """The synthetic cases' messages: most cases have a thread that grows
    with their progress, sealed under the case's key; the worker's texts
    carry distinct provider ids; nobody has answered a new case; the
    unread messages are the worker's, last in the thread."""
    messages = db.session.execute(
        select(
            Message.id,
            Message.case_id,
            Message.direction,
            Message.channel,
            Message.internal,
            Message.author_kind,
            Message.provider_id,
            Message.created_at,
        )
        .where(Message.case_id > after_id)
        .order_by(Message.case_id, Message.id)
    ).all()
    cases = {
        row.id: row
        for row in db.session.execute(
            select(Case.id, Case.status, Case.channel, Case.unread_count, Case.created_at).where(
                Case.id > after_id
            )
        )
    }
    threads: dict[int, list] = {}
    for message in messages:
        threads.setdefault(message.case_id, []).append(message)
    assert len(threads) > 0.8 * len(cases)
    length = {status: [] for status in ("new", "in_progress", "closed")}
    for case_id, thread in threads.items():
        case = cases[case_id]
        if case.status in length:
            length[case.status].append(len(thread))
        if case.status == "new":
            assert all(m.direction == "in" for m in thread)
        times = [m.created_at for m in thread]
        assert times == sorted(times) and times[0] >= case.created_at
        if case.unread_count:
            assert all(m.direction == "in" for m in thread[-case.unread_count :])
        for m in thread:
            if m.internal:
                assert (m.channel, m.direction, m.author_kind) == ("note", "out", "staff")
            else:
                assert m.channel == case.channel
                assert m.author_kind == ("worker" if m.direction == "in" else "staff")
    average = {status: sum(n) / len(n) for status, n in length.items()}
    assert average["new"] < 2 < average["in_progress"] and average["closed"] > 2, average
    assert any(m.internal for m in messages)
    # Every row's uid is unique and shaped like crypto.new_uid()'s.
    uids = list(db.session.scalars(select(Message.uid).where(Message.case_id > after_id)))
    uids += list(db.session.scalars(select(Case.uid).where(Case.id > after_id)))
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch("[0-9a-f]{32}", uid) for uid in uids)
    provider_ids = [m.provider_id for m in messages if m.provider_id]
    assert len(provider_ids) == len(set(provider_ids)) > 100
    # Each message opens with its case's key, and the table holds only ciphertext.
    sample = db.session.scalars(
        select(Message).where(Message.case_id > after_id).order_by(Message.id).limit(30)
    ).all()
    for message in sample:
        body = message.body
        assert body
        assert message.data_key_id == db.session.get(Case, message.case_id).data_key_id
        raw = db.session.execute(
            text("SELECT body_ct FROM messages WHERE id = :i"), {"i": message.id}
        ).scalar_one()
        assert body.encode() not in bytes(raw)


def test_same_seed_same_data_set(app: Flask) -> None:
    with app.app_context():
        bulk.seed_bulk(200, seed=3, batch_size=64)
        first = db.session.execute(
            select(Case.language, Case.urgency, Case.status).order_by(Case.id)
        ).all()
        db.session.execute(text("DELETE FROM messages"))
        db.session.execute(text("DELETE FROM case_categories"))
        db.session.execute(text("DELETE FROM case_indicators"))
        db.session.execute(text("DELETE FROM cases"))
        db.session.commit()
        bulk.seed_bulk(200, seed=3, batch_size=64, now=None)
        second = db.session.execute(
            select(Case.language, Case.urgency, Case.status).order_by(Case.id)
        ).all()
        assert first == second


def test_worker_processes_build_the_same_data_set(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Large loads build their batches in worker processes: the same seed
    gives the same cases as building them here, references distinct."""
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 0)
    columns = (Case.id, Case.reference, Case.language, Case.urgency, Case.status, Case.channel)
    thread = (Message.case_id, Message.direction, Message.channel, Message.provider_id)
    with app.app_context():
        bulk.seed_bulk(600, seed=11, batch_size=100, processes=2)
        parallel = db.session.execute(select(*columns).order_by(Case.id)).all()
        parallel_threads = db.session.execute(select(*thread).order_by(Message.id)).all()
        db.session.execute(text("DELETE FROM messages"))
        db.session.execute(text("DELETE FROM case_categories"))
        db.session.execute(text("DELETE FROM case_indicators"))
        db.session.execute(text("DELETE FROM cases"))
        db.session.commit()
        bulk.seed_bulk(600, seed=11, batch_size=100, processes=1)
        here = db.session.execute(select(*columns).order_by(Case.id)).all()
        assert parallel == here and len(here) == 600
        here_threads = db.session.execute(select(*thread).order_by(Message.id)).all()
        assert parallel_threads == here_threads and len(here_threads) > 600
        assert len({row.reference for row in here}) == 600
        case = db.session.scalar(select(Case).order_by(Case.id.desc()).limit(1))
        assert case is not None and case.narrative


def test_seed_bulk_is_refused_under_production_settings() -> None:
    app = create_app(TestingConfig, SEED_DEMO_ALLOWED=False)
    result = app.test_cli_runner().invoke(args=["grievance", "seed-bulk", "--cases", "5"])
    assert result.exit_code == 1
    assert "refused" in result.output


def test_demo_seed_has_canned_responses_in_every_language(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    from grievance.cases.models import CannedResponse
    from grievance.i18n import LANGUAGES

    assert runner.invoke(args=["grievance", "seed-demo"]).exit_code == 0
    assert runner.invoke(args=["grievance", "seed-demo"]).exit_code == 0
    with app.app_context():
        rows = db.session.scalars(select(CannedResponse)).all()
        by_language = Counter(r.language for r in rows)
        assert by_language == {lang.code: 2 for lang in LANGUAGES}

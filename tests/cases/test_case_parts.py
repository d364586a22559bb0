"""The case page reads the case and which of its lists are empty in one
query, then reads only the lists that hold something."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, text

from grievance.cases import casework, queries
from grievance.cases.models import Attachment, CaseClock, IloIndicator
from grievance.cases.referral_models import ConsentRequest
from grievance.cases.services import format_code
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.notify.models import OutboundMessage
from grievance.staff.models import StaffUser
from tests.cases.referral_helpers import build, case_of, grant, login
from tests.test_reference_cache import StatementCounter

LISTS = (
    "attachments",
    "case_clocks",
    "consents",
    "referrals",
    "consent_requests",
    "escalations",
    "outbound_messages",
)


def parts_of(reference: str) -> queries.CaseParts:
    db.session.expunge_all()  # as a new request would: nothing loaded yet
    found = queries.case_with_parts(reference)
    assert found is not None
    return found[1]


def test_case_with_parts_follows_each_list(app: Flask) -> None:
    world = build(app)  # a case with one attachment
    with app.app_context():
        assert queries.case_with_parts("NOSUCHREF") is None
        case = case_of(world)
        assert parts_of(world.reference) == queries.CaseParts(
            attachments=True,
            clocks=False,
            consents=False,
            referrals=False,
            open_questions=False,
            escalations=False,
            outbound=False,
            views=0,
            messages=0,
            categories=("DOC_RETAIN", "WAGE_UNPAID"),
            indicators=(),
        )
        db.session.add(CaseClock(case_id=case.id, kind="dismissal_notice", due_at=utcnow()))
        question = ConsentRequest(case_id=case.id, scope="share_narrative")
        db.session.add(question)
        commit()
        question_id = question.id
        parts = parts_of(world.reference)
        assert parts.clocks and parts.open_questions and not parts.consents
        # A question already answered or superseded is not an open one.
        question = db.session.get(ConsentRequest, question_id)
        question.closed_at = utcnow() - timedelta(minutes=1)
        commit()
        assert not parts_of(world.reference).open_questions
        grant(world, "share_narrative", world.union_id)
        assert parts_of(world.reference).consents
        case = case_of(world)
        db.session.add(
            OutboundMessage(data_key=case.data_key, case_id=case.id, channel="sms", purpose="reply")
        )
        commit()
        assert parts_of(world.reference).outbound


def test_empty_lists_are_not_read_and_the_others_are(app: Flask) -> None:
    world = build(app)
    client = login(app, "cw@example.org", world.caseworker_secret)
    url = f"/staff/cases/{format_code(world.reference)}"
    with app.app_context(), StatementCounter() as counter:
        response = client.get(url)
    assert response.status_code == 200
    html = response.data.decode()
    assert "CANARY-payslip.pdf" in html
    reads = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    probe = [s for s in reads if "EXISTS" in s]
    assert len(probe) == 1 and "FROM cases" in probe[0]
    others = [s for s in reads if s not in probe]
    read_from = {t for t in LISTS for s in others if f"FROM {t} " in s + " "}
    # Only the attachments are read; the six empty lists are not asked for.
    assert read_from == {"attachments"}


def test_a_list_known_to_be_loaded_is_left_as_it_is(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        case = case_of(world)
        loaded = list(case.attachments)
        extra = Attachment(
            data_key=case.data_key, case_id=case.id, content_type="text/plain", size=1
        )
        extra.filename = "second.txt"
        extra.data = b"x"
        db.session.add(extra)
        db.session.flush()
        found = queries.case_with_parts(case.reference)
        assert found is not None and found[0] is case
        # Loaded before the query: it is not replaced.
        assert [a.id for a in case.attachments] == [a.id for a in loaded]


def test_the_counts_come_with_the_case(app: Flask) -> None:
    world = build(app)
    with app.app_context():
        actor = db.session.get(StaffUser, world.caseworker_id)
        for text in ("one", "two", "three"):
            casework.add_note(actor, case_of(world), text)
        for _ in range(4):
            casework.view_case(actor, case_of(world))
        commit()
        db.session.expunge_all()
        with StatementCounter() as counter:
            found = queries.case_with_parts(world.reference)
        assert found is not None
        assert (found[1].views, found[1].messages) == (4, 3)
        assert len(counter.statements) == 1


def test_the_page_counts_views_and_messages_without_more_queries(app: Flask) -> None:
    world = build(app)
    client = login(app, "cw@example.org", world.caseworker_secret)
    url = f"/staff/cases/{format_code(world.reference)}"
    assert client.get(url).status_code == 200
    with app.app_context(), StatementCounter() as counter:
        response = client.get(url)
    assert "Viewed 2 times." in response.data.decode()
    reads = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in reads if "count(" in s.lower() and "FROM cases" not in s]


def test_the_one_query_searches_indices_and_scans_nothing(app: Flask) -> None:
    """On SQLite every part of the query is a search on an index: it stays
    as fast with a million cases and their links as with one."""
    world = build(app)
    with app.app_context():
        statement = queries._with_parts_statement().params(reference=world.reference)
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        rows = db.session.execute(text("EXPLAIN QUERY PLAN " + str(compiled))).all()
        steps = [str(row[-1]) for row in rows]
        assert any("SEARCH cases USING" in step for step in steps), steps
        assert not [step for step in steps if step.startswith("SCAN")], steps
        assert not [step for step in steps if "MATERIALIZE" in step], steps


def test_the_codes_come_with_the_case(app: Flask) -> None:
    """The case's category and indicator codes, sorted, in the one query."""
    world = build(app)
    with app.app_context():
        case = case_of(world)
        case.indicators = list(
            db.session.scalars(select(IloIndicator).where(IloIndicator.code.in_(["WW", "RID"])))
        )
        commit()
        db.session.expunge_all()
        with StatementCounter() as counter:
            found = queries.case_with_parts(world.reference)
        assert found is not None
        assert found[1].categories == ("DOC_RETAIN", "WAGE_UNPAID")
        assert found[1].indicators == ("RID", "WW")
        assert len(counter.statements) == 1
        case = case_of(world)
        case.categories = []
        case.indicators = []
        commit()
        parts = parts_of(world.reference)
        assert (parts.categories, parts.indicators) == ((), ())


TAXONOMY = (
    "categories",
    "case_categories",
    "case_indicators",
    "category_indicators",
    "ilo_indicators",
)


def test_the_page_reads_no_taxonomy_and_shows_what_the_codes_imply(app: Flask) -> None:
    """Names, default urgencies and implied indicators come from the
    reference cache: the page reads none of the taxonomy's tables, and
    still shows the case's categories chosen, the indicators they suggest
    and the urgency they imply."""
    world = build(app)
    client = login(app, "cw@example.org", world.caseworker_secret)
    url = f"/staff/cases/{format_code(world.reference)}"
    assert client.get(url).status_code == 200  # fills this process's copies
    with app.app_context(), StatementCounter() as counter:
        response = client.get(url)
    assert response.status_code == 200
    html = response.data.decode()
    reads = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    main = [s for s in reads if "FROM cases" in s and "EXISTS" in s]
    named = {t: re.compile(rf"(FROM|JOIN|,)\s+{t}\b") for t in TAXONOMY}
    read_from = {t for t in TAXONOMY for s in reads if s not in main and named[t].search(s)}
    assert read_from == set(), read_from
    assert "Suggested urgency: " in html
    # WAGE_UNPAID and DOC_RETAIN suggest these indicators, and P1.
    assert "Indicators suggested by the categories: AWLC, RID, RM, WW." in html
    for code in ("WAGE_UNPAID", "DOC_RETAIN"):
        assert re.search(rf'<input[^>]*checked[^>]*value="{code}"|value="{code}"[^>]*checked', html)
    assert not re.search(
        r'<input[^>]*checked[^>]*value="VIOLENCE"|value="VIOLENCE"[^>]*checked', html
    )

"""The audit trail is tamper-evident: edit, delete or reorder rows directly in
the database (raw SQL, as an intruder would), and `verify-audit` says so."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from grievance.cases import audit, casework
from grievance.cases.models import CaseEvent
from grievance.extensions import commit, db
from tests.conftest import make_case, make_staff


def sql(statement: str, **params: object) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()


def build_chain(app: Flask) -> int:
    """A few cases and actions: eight or more events; returns how many."""
    with app.app_context():
        actor, _ = make_staff()
        for n in range(3):
            case, _ = make_case(narrative=f"Story {n}")
            casework.claim_case(actor, case)
            casework.add_note(actor, case, "called the worker")
            commit()
        report = audit.verify_chain()
        assert report.ok
        return report.events


def swap_seq(a: int, b: int) -> None:
    # Through a free number: seq is unique.
    sql("UPDATE case_events SET seq = -1 WHERE seq = :a", a=a)
    sql("UPDATE case_events SET seq = :a WHERE seq = :b", a=a, b=b)
    sql("UPDATE case_events SET seq = :b WHERE seq = -1", b=b)


def edit_and_rehash(seq: int) -> None:
    """An intruder edits a row and recomputes its hash, but has no key."""
    row_id = db.session.execute(
        text("SELECT id FROM case_events WHERE seq = :s"), {"s": seq}
    ).scalar_one()
    event = db.session.get(CaseEvent, row_id)
    event.kind = "case.viewed"
    event.hash = hashlib.sha256(audit._canonical(event)).hexdigest()
    db.session.commit()


def delete_and_renumber(n: int) -> None:
    sql("DELETE FROM case_events WHERE seq = 3")
    for seq in range(4, n + 1):
        sql("UPDATE case_events SET seq = :s WHERE seq = :t", s=seq - 1, t=seq)


def newest_to_front(n: int) -> None:
    sql("UPDATE case_events SET seq = -1 WHERE seq = :n", n=n)
    for seq in range(n - 1, 0, -1):
        sql("UPDATE case_events SET seq = :s WHERE seq = :t", s=seq + 1, t=seq)
    sql("UPDATE case_events SET seq = 1 WHERE seq = -1")


# name: (what the intruder does, given the number of events; the first bad seq)
TAMPERING: dict[str, tuple[Callable[[int], None], Callable[[int], int]]] = {
    "edit a detail": (
        lambda n: sql("UPDATE case_events SET detail = :d WHERE seq = 2", d='{"to": 99}'),
        lambda n: 2,
    ),
    "edit the actor": (
        lambda n: sql("UPDATE case_events SET actor_id = 77 WHERE seq = 3"),
        lambda n: 3,
    ),
    "edit the kind": (
        lambda n: sql("UPDATE case_events SET kind = 'case.viewed' WHERE seq = 4"),
        lambda n: 4,
    ),
    "edit the time": (
        lambda n: sql(
            "UPDATE case_events SET created_at = '2020-01-01 00:00:00.000000' WHERE seq = 5"
        ),
        lambda n: 5,
    ),
    "edit the case id": (
        lambda n: sql("UPDATE case_events SET case_id = 999 WHERE seq = 1"),
        lambda n: 1,
    ),
    "edit and re-hash without the key": (lambda n: edit_and_rehash(3), lambda n: 3),
    "delete a row in the middle": (
        lambda n: sql("DELETE FROM case_events WHERE seq = 4"),
        lambda n: 4,
    ),
    "delete the first row": (lambda n: sql("DELETE FROM case_events WHERE seq = 1"), lambda n: 1),
    "delete the newest row": (
        lambda n: sql("DELETE FROM case_events WHERE seq = :n", n=n),
        lambda n: n,
    ),
    "delete every row": (lambda n: sql("DELETE FROM case_events"), lambda n: 1),
    "delete a row and renumber the rest": (delete_and_renumber, lambda n: 3),
    "swap two rows": (lambda n: swap_seq(2, 3), lambda n: 2),
    "move the newest row to the front": (newest_to_front, lambda n: 1),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_verify_audit_catches_tampering(app: Flask, runner: FlaskCliRunner, name: str) -> None:
    count = build_chain(app)
    assert count >= 8
    intact = runner.invoke(args=["grievance", "verify-audit"])
    assert intact.exit_code == 0 and f"{count} events" in intact.output
    tamper, first_bad = TAMPERING[name]
    with app.app_context():
        tamper(count)
        report = audit.verify_chain()
        assert not report.ok, name
        assert report.first_bad_seq == first_bad(count), (name, report)
    result = runner.invoke(args=["grievance", "verify-audit"])
    assert result.exit_code == 1, result.output
    assert f"audit chain broken at event {first_bad(count)}" in result.output


def test_an_untouched_chain_verifies_after_many_events(app: Flask) -> None:
    with app.app_context():
        actor, _ = make_staff()
        case, _ = make_case()
        for n in range(30):
            casework.add_note(actor, case, f"note {n}")
        commit()
        report = audit.verify_chain()
        assert report.ok and report.events == 31  # opened, then 30 notes

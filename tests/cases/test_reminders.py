"""Reminders: first contact, follow-ups and deadlines; once each; by tick."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import select

from grievance.cases import reminders, triage
from grievance.cases.models import CaseClock
from grievance.cases.workspace_models import CaseReminder
from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.notify.models import OutboundMessage
from tests.conftest import make_case, make_staff


def reminder_mail() -> list[OutboundMessage]:
    return list(
        db.session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.purpose == "reminder")
            .order_by(OutboundMessage.id)
        )
    )


def test_first_contact_reminder_goes_to_the_assignee_once(app: Flask) -> None:
    with app.app_context():
        assignee, _ = make_staff("caseworker", "aiko@example.org")
        on_call, _ = make_staff("caseworker", "oncall@example.org")
        on_call.on_call = True
        commit()
        case, _ = make_case(urgency="P1", narrative="Salary is late.")
        case.assignee_id = assignee.id
        commit()
        now = utcnow()
        # Not yet: due in 24 hours, the lead for P1 is 2 hours.
        assert reminders.send_reminders(now) == 0
        later = case.due_at.replace(tzinfo=now.tzinfo) - timedelta(hours=1)
        assert reminders.send_reminders(later) == 1
        commit()
        mails = reminder_mail()
        assert [m.recipient for m in mails] == ["aiko@example.org"]
        body = mails[0].body or ""
        assert "/staff/cases/" in body and "Salary" not in body
        # Any number of ticks later: nothing twice.
        assert reminders.send_reminders(later + timedelta(minutes=5)) == 0
        commit()
        assert len(reminder_mail()) == 1
        # Once overdue, one more (a different reminder).
        overdue = case.due_at.replace(tzinfo=now.tzinfo) + timedelta(minutes=1)
        assert reminders.send_reminders(overdue) == 1
        commit()
        kinds = set(db.session.scalars(select(CaseReminder.kind)))
        assert kinds == {"ack_due", "ack_overdue"}


def test_unassigned_cases_remind_the_on_call_staff(app: Flask) -> None:
    with app.app_context():
        first, _ = make_staff("caseworker", "a@example.org")
        second, _ = make_staff("admin", "b@example.org")
        first.on_call = second.on_call = True
        commit()
        case, _ = make_case(urgency="P2")
        due = case.due_at.replace(tzinfo=utcnow().tzinfo)
        assert reminders.send_reminders(due - timedelta(hours=1)) == 1
        commit()
        assert sorted(m.recipient for m in reminder_mail()) == ["a@example.org", "b@example.org"]


def test_a_reply_moves_the_clock_and_a_follow_up_reminder_follows(app: Flask) -> None:
    from grievance.cases import casework

    with app.app_context():
        actor, _ = make_staff("caseworker", "aiko@example.org")
        case, _ = make_case(urgency="P3")
        case.assignee_id = actor.id
        casework.reply_to_worker(actor, case, "We read your report.")
        commit()
        due = case.due_at
        assert reminders.send_reminders(due - timedelta(hours=2)) == 1
        commit()
        assert set(db.session.scalars(select(CaseReminder.kind))) == {"follow_up_due"}


def test_old_overdue_cases_do_not_flood_the_inbox(app: Flask) -> None:
    with app.app_context():
        staff, _ = make_staff("caseworker", "oncall@example.org")
        staff.on_call = True
        commit()
        for _ in range(3):
            case, _ = make_case(urgency="P2")
            case.due_at = utcnow() - timedelta(days=20)
        commit()
        assert reminders.send_reminders() == 0


def test_statutory_deadline_reminders(app: Flask) -> None:
    with app.app_context():
        actor, _ = make_staff("caseworker", "aiko@example.org")
        case, _ = make_case(urgency="P3")
        case.assignee_id = actor.id
        case.due_at = utcnow() + timedelta(days=60)  # the case itself is not due
        clock = triage.add_clock(actor, case, "affiliation_change", date.today())
        commit()
        assert reminders.send_reminders() == 1  # 14 days or less away
        commit()
        due = clock.due_at.replace(tzinfo=utcnow().tzinfo)
        assert reminders.send_reminders(due - timedelta(days=1)) == 1  # 2 days or less
        commit()
        kinds = sorted(db.session.scalars(select(CaseReminder.kind)))
        assert kinds == ["clock_14d:affiliation_change", "clock_2d:affiliation_change"]
        db.session.get(CaseClock, clock.id).done_at = utcnow()
        commit()
        assert reminders.send_reminders(due - timedelta(hours=1)) == 0


def test_closed_cases_get_no_reminders(app: Flask) -> None:
    with app.app_context():
        staff, _ = make_staff("caseworker", "oncall@example.org")
        staff.on_call = True
        case, _ = make_case(urgency="P1")
        case.status = "closed"
        commit()
        assert reminders.send_reminders(utcnow() + timedelta(days=1)) == 0


def test_tick_command_runs_the_reminders(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        staff, _ = make_staff("caseworker", "oncall@example.org")
        staff.on_call = True
        case, _ = make_case(urgency="P0", narrative="help")
        case.due_at = utcnow() + timedelta(minutes=10)
        commit()
    result = runner.invoke(args=["grievance", "tick"])
    assert result.exit_code == 0, result.output
    assert "reminders: 1" in result.output
    again = runner.invoke(args=["grievance", "tick"])
    assert "reminders: 0" in again.output
    with app.app_context():
        assert len(reminder_mail()) == 1

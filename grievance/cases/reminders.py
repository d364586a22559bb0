"""Reminders: acknowledgements, follow-ups and statutory deadlines coming due.

`send_reminders(now)` finds what comes due soon (or just fell due) and
e-mails the case's assignee, or the on-call caseworkers when nobody has
the case, through the outbox. It runs:

* in production, every minute from the RQ worker's sweeper (registered as
  the periodic task "reminders"; see `grievance.notify.jobs.run_periodic`);
* in the embedded default, from `flask grievance tick`, which `make run`
  calls every minute beside the web server.

Guarantees: each reminder goes out once per (case, kind, due time): the
`case_reminders` row and the outbox rows are written in one transaction,
and a unique key refuses a second copy, so any number of ticks, in any
number of processes, send each reminder once. A new due time (a reply, a
change of urgency) is a new reminder. The text is neutral: a due time and a
link, nothing about the case.

Only what falls due from a day ago onwards is looked at: a case that has
been overdue for weeks was reminded when it fell due, and a year of
imported cases does not flood anyone's inbox on the first tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from grievance.cases.deadlines import JST
from grievance.cases.labels import N_, in_staff_languages
from grievance.cases.models import Case, CaseClock, CaseStatus
from grievance.cases.redflags import URGENCY_ORDER
from grievance.cases.triage import case_link, on_call_staff
from grievance.cases.workspace_models import OPEN_SQL, OPEN_STATUSES, CaseReminder
from grievance.datakeys import as_utc, utcnow
from grievance.extensions import commit, db
from grievance.notify import outbox
from grievance.staff.models import Role, StaffUser

# How long before the first-contact deadline the assignee is reminded.
ACK_LEAD: dict[str, timedelta] = {
    "P0": timedelta(minutes=15),
    "P1": timedelta(hours=2),
    "P2": timedelta(hours=4),
    "P3": timedelta(hours=8),
}
FOLLOW_UP_LEAD = timedelta(days=1)
CLOCK_LEADS: tuple[tuple[str, timedelta], ...] = (
    ("clock_14d", timedelta(days=14)),
    ("clock_2d", timedelta(days=2)),
)
LOOK_BACK = timedelta(days=1)
BATCH = 500  # reminders per tick at most; the next tick sends the rest

SUBJECT = N_("Case reminder")
TEXTS = {
    "ack_due": N_("First contact is due at %(when)s (Japan time). Open the case: %(link)s"),
    "ack_overdue": N_(
        "First contact is overdue since %(when)s (Japan time). Open the case: %(link)s"
    ),
    "follow_up_due": N_("An update to the worker is due at %(when)s (Japan time): %(link)s"),
    "follow_up_overdue": N_(
        "An update to the worker is overdue since %(when)s (Japan time): %(link)s"
    ),
    "clock": N_("A deadline in a case runs out at %(when)s (Japan time): %(link)s"),
}


@dataclass(frozen=True)
class DueItem:
    case_id: int
    kind: str  # the CaseReminder kind (e.g. "ack_due", "clock_2d:wage_claim")
    text: str  # a key of TEXTS
    due_at: datetime


def due_items(now: datetime, limit: int = BATCH) -> list[DueItem]:
    """What needs a reminder now, most urgent first. Reads only."""
    now = as_utc(now)
    items: list[DueItem] = []
    since = now - LOOK_BACK
    for urgency in URGENCY_ORDER:
        # Per urgency, so each query is a range on the open-queue index.
        rows = db.session.execute(
            select(Case.id, Case.status, Case.due_at, Case.acknowledged_at)
            .where(text(OPEN_SQL))
            .where(Case.urgency == urgency)
            .where(Case.due_at >= since)
            .where(Case.due_at <= now + max(ACK_LEAD[urgency], FOLLOW_UP_LEAD))
            .order_by(Case.due_at, Case.id)
            .limit(limit)
        ).all()
        for case_id, status, due, acknowledged in rows:
            due = as_utc(due)
            waiting_first_contact = status == CaseStatus.NEW and acknowledged is None
            if waiting_first_contact:
                if due <= now:
                    items.append(DueItem(case_id, "ack_overdue", "ack_overdue", due))
                elif due <= now + ACK_LEAD[urgency]:
                    items.append(DueItem(case_id, "ack_due", "ack_due", due))
            elif due <= now:
                items.append(DueItem(case_id, "follow_up_overdue", "follow_up_overdue", due))
            elif due <= now + FOLLOW_UP_LEAD:
                items.append(DueItem(case_id, "follow_up_due", "follow_up_due", due))
    clocks = db.session.execute(
        select(CaseClock.case_id, CaseClock.kind, CaseClock.due_at)
        .join(Case, Case.id == CaseClock.case_id)
        .where(CaseClock.done_at.is_(None))
        .where(CaseClock.due_at >= since)
        .where(CaseClock.due_at <= now + CLOCK_LEADS[0][1])
        .where(Case.status.in_(OPEN_STATUSES))
        .order_by(CaseClock.due_at)
        .limit(limit)
    ).all()
    for case_id, clock_kind, due in clocks:
        due = as_utc(due)
        # The nearest lead that applies: 2 days before, else 14 days before.
        lead_name = next(
            (name for name, lead in reversed(CLOCK_LEADS) if due <= now + lead), CLOCK_LEADS[0][0]
        )
        items.append(DueItem(case_id, f"{lead_name}:{clock_kind}"[:40], "clock", due))
    return _unsent(items)[:limit]


def _unsent(items: list[DueItem]) -> list[DueItem]:
    if not items:
        return items
    sent = set(
        db.session.execute(
            select(CaseReminder.case_id, CaseReminder.kind, CaseReminder.due_at).where(
                CaseReminder.case_id.in_({item.case_id for item in items})
            )
        ).all()
    )
    sent_keys = {(case_id, kind, as_utc(due)) for case_id, kind, due in sent}
    return [i for i in items if (i.case_id, i.kind, i.due_at) not in sent_keys]


def _recipients(case: Case, on_call: list[StaffUser]) -> list[StaffUser]:
    if case.assignee_id is not None:
        assignee = db.session.get(StaffUser, case.assignee_id)
        if (
            assignee is not None
            and not assignee.disabled
            and assignee.role in (Role.CASEWORKER, Role.ADMIN)
        ):
            return [assignee]
    return on_call


def send_reminders(now: datetime | None = None, limit: int = BATCH) -> int:
    """E-mail the reminders that are due; returns how many reminders went out.

    Flushes; the caller commits (the tick and the periodic task do).
    """
    from grievance.cases import audit

    now = as_utc(now or utcnow())
    items = due_items(now, limit)
    if not items:
        return 0
    on_call = on_call_staff()
    sent = 0
    for item in items:
        case = db.session.get(Case, item.case_id)
        if case is None or case.data_key is None:
            continue
        recipients = _recipients(case, on_call)
        try:
            # A savepoint: a reminder another process recorded first is skipped.
            with db.session.begin_nested():
                db.session.add(
                    CaseReminder(
                        case_id=case.id,
                        kind=item.kind,
                        due_at=item.due_at,
                        sent_at=now,
                        recipients=len(recipients),
                    )
                )
        except IntegrityError:
            continue
        when = item.due_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
        body = in_staff_languages(TEXTS[item.text], when=when, link=case_link(case))
        subject = in_staff_languages(SUBJECT, joiner=" / ")
        for member in recipients:
            outbox.queue_email(
                recipient=member.email,
                subject=subject,
                body=body,
                purpose="reminder",
                data_key=case.data_key,
                case_id=case.id,
            )
        audit.record(
            "case.reminder",
            case_id=case.id,
            detail={"kind": item.kind, "recipients": len(recipients)},
        )
        sent += 1
    db.session.flush()
    return sent


def reminder_task() -> int:
    """The periodic task: send what is due and commit (one unit of work)."""
    count = send_reminders()
    commit()
    return count

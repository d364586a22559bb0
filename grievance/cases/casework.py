"""The caseworker's operations on a case: view, move through the workflow,
claim and assign, reply to the worker, write internal notes.

Each service takes the acting staff member first, flushes, writes one audit
event per change and raises a typed error the view turns into a message;
the view commits. Authorisation by role happens in the views; these
services check what depends on the case itself (its state, the assignee's
role).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, select

from grievance.cases import audit, messaging, workflow
from grievance.cases.deadlines import due_at
from grievance.cases.models import Case, CaseStatus, Message
from grievance.cases.services import record_view
from grievance.crypto import EncryptedField
from grievance.datakeys import DataKey, key_material, utcnow
from grievance.extensions import column_rows, db
from grievance.i18n import lazy_gettext as _l
from grievance.staff.models import Role, StaffUser

# After the first human contact the clock that matters is the next update
# to the worker: DOMAIN.md counts open cases with an update in 14 days.
FOLLOW_UP_INTERVAL = timedelta(days=14)
NOTE_LIMIT = 10_000
REPLY_LIMIT = 5_000


class CaseworkError(Exception):
    """An action was refused; `message` says why, for the caseworker."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


def view_case(actor: StaffUser, case: Case) -> None:
    """Record the view (audit) and mark the worker's messages as read."""
    if case.unread_count:
        case.unread_count = 0
        # Written first: the view's event then joins this transaction.
        db.session.flush()
    record_view(case, actor.id)


def transition_case(
    actor: StaffUser, case: Case, action: str, closure_reason: str | None = None
) -> workflow.Decision:
    """Apply a workflow action; IllegalTransitionError if the workflow refuses."""
    decision = workflow.decide(
        case.status,
        action,
        urgency=case.urgency,
        actor_role=actor.role,
        closure_reason=closure_reason,
        review_state=case.review_state,
    )
    now = utcnow()
    before = case.status
    if decision.needs_review:
        case.review_state = "pending"
        case.closure_reason = decision.closure_reason
        db.session.flush()
        audit.record(
            "case.closure_requested",
            case_id=case.id,
            actor_id=actor.id,
            detail={"reason": decision.closure_reason, "urgency": case.urgency},
        )
        return decision
    if action in (workflow.Action.APPROVE_CLOSE, workflow.Action.REJECT_CLOSE):
        audit.record(
            "case.closure_reviewed",
            case_id=case.id,
            actor_id=actor.id,
            detail={"decision": decision.review_state},
        )
    if not decision.keep_review:
        case.review_state = decision.review_state
    case.status = decision.status
    if decision.status == CaseStatus.ACKNOWLEDGED and case.acknowledged_at is None:
        _stop_acknowledgement_clock(case)
    elif decision.status == CaseStatus.IN_PROGRESS and case.acknowledged_at is None:
        _stop_acknowledgement_clock(case)
    if decision.status == CaseStatus.RESOLVED:
        case.resolved_at = now
    if decision.status == CaseStatus.CLOSED:
        case.closed_at = now
        case.closure_reason = decision.closure_reason
    if action == workflow.Action.REOPEN:
        case.closed_at = None
        case.resolved_at = None
        case.closure_reason = None
        case.due_at = due_at(case.urgency, now)
    db.session.flush()
    if decision.status != before:
        detail: dict[str, object] = {"from": before, "to": decision.status, "action": action}
        if decision.closure_reason and decision.status == CaseStatus.CLOSED:
            detail["reason"] = decision.closure_reason
        audit.record("case.transition", case_id=case.id, actor_id=actor.id, detail=detail)
    return decision


def _stop_acknowledgement_clock(case: Case) -> None:
    now = utcnow()
    case.acknowledged_at = now
    case.due_at = now + FOLLOW_UP_INTERVAL


def assign_case(actor: StaffUser, case: Case, assignee_id: int | None) -> None:
    """Give the case to a caseworker or admin (None: back to the pool)."""
    assignee = None
    if assignee_id is not None:
        assignee = db.session.get(StaffUser, assignee_id)
        if (
            assignee is None
            or assignee.disabled
            or assignee.role not in (Role.CASEWORKER, Role.ADMIN)
        ):
            raise CaseworkError(_l("Cases can only be assigned to active caseworkers or admins."))
    if case.assignee_id == assignee_id:
        return
    before = case.assignee_id
    case.assignee_id = assignee_id
    db.session.flush()
    audit.record(
        "case.assigned",
        case_id=case.id,
        actor_id=actor.id,
        detail={"from": before, "to": assignee_id},
    )


def claim_case(actor: StaffUser, case: Case) -> None:
    """The actor takes the case."""
    assign_case(actor, case, actor.id)


def reply_to_worker(actor: StaffUser, case: Case, body: str) -> Message:
    """Write to the worker on their channel, within their safe-contact wishes.

    The first human reply acknowledges a new case and stops its
    acknowledgement clock; the next deadline is the next update due.
    """
    text = body.strip()
    if not text:
        raise CaseworkError(_l("Write a message first."))
    if len(text) > REPLY_LIMIT:
        raise CaseworkError(_l("The message is too long."))
    if case.status == CaseStatus.CLOSED:
        raise CaseworkError(_l("Reopen the case before writing to the worker."))
    first = case.first_response_at is None
    message = messaging.send_to_worker(case, text, actor)
    now = utcnow()
    if case.status == CaseStatus.NEW:
        decision = workflow.decide(
            case.status, workflow.Action.ACKNOWLEDGE, urgency=case.urgency, actor_role=actor.role
        )
        case.status = decision.status
        case.acknowledged_at = now
        db.session.flush()
        audit.record(
            "case.acknowledged",
            case_id=case.id,
            actor_id=actor.id,
            detail={"from": CaseStatus.NEW.value, "to": decision.status, "by": "reply"},
        )
    elif first and case.acknowledged_at is None:
        case.acknowledged_at = now
    # Every reply to the worker restarts the follow-up clock.
    case.due_at = now + FOLLOW_UP_INTERVAL
    db.session.flush()
    return message


def add_note(actor: StaffUser, case: Case, body: str) -> Message:
    """An internal note: sealed like any message, never shown to the worker."""
    text = body.strip()
    if not text:
        raise CaseworkError(_l("Write a note first."))
    if len(text) > NOTE_LIMIT:
        raise CaseworkError(_l("The note is too long."))
    note = Message(
        data_key=case.data_key,
        case_id=case.id,
        direction="out",
        channel="note",
        author_kind="staff",
        author_staff_id=actor.id,
        internal=True,
        created_at=utcnow(),
    )
    note.body = text
    db.session.add(note)
    db.session.flush()
    audit.record("case.note", case_id=case.id, actor_id=actor.id, detail={"message_id": note.id})
    return note


# Messages shown at once on the case page; older ones are a link away.
THREAD_PAGE = 30


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message or note as the thread shows it: its columns, read without
    the ORM (see `thread`), its body opened when the page asks for it with
    the key it was sealed under, as `Message.body` opens it."""

    __tablename__ = "messages"  # (for the body's binding to its table)

    id: int
    direction: str
    channel: str
    author_staff_id: int | None
    internal: bool
    delivery_status: str | None
    delivery_error: str | None
    created_at: datetime
    body_ct: bytes | None
    uid: str
    data_key: DataKey | None

    body = EncryptedField("body_ct")

    def data_key_material(self) -> tuple[str, bytes]:
        return key_material(self.data_key)


@dataclass(frozen=True)
class ThreadPage:
    """Up to THREAD_PAGE messages and notes, oldest first; `earlier` is the
    id to ask for the page before (None: these are the first), and `total`
    counts every message of the case."""

    messages: list[ThreadMessage]
    earlier: int | None
    total: int
    latest: bool


_THREAD_COLUMNS = (
    Message.id,
    Message.direction,
    Message.channel,
    Message.author_staff_id,
    Message.internal,
    Message.delivery_status,
    Message.delivery_error,
    Message.created_at,
    Message.body_ct,
    Message.uid,
    Message.data_key_id,
)


@functools.lru_cache(maxsize=8)
def _thread_statement(before: bool, limit: int) -> Select:
    """The thread's statement, built once (see `column_rows`): the case page
    runs it on every view."""
    query = select(*_THREAD_COLUMNS).where(Message.case_id == bindparam("case_id"))
    if before:
        query = query.where(Message.id < bindparam("before"))
    return query.order_by(Message.id.desc()).limit(limit)


def thread(
    case: Case, total: int, before: int | None = None, size: int = THREAD_PAGE
) -> ThreadPage:
    """The latest messages of a case, or those just before message id `before`.

    A case can gather hundreds of messages over months; the page reads (and
    decrypts) only the newest, walking the (case_id, id) index backwards,
    then turns them the reading way round. `total` is the case's count of
    messages, read with the case (`queries.case_with_parts`).

    The rows are read as plain columns: the page only shows them, and 30
    mapped objects, each with its data key joined, cost the ORM about
    0.4 ms a page. A message is sealed under its case's key; one under
    another key (none is, today) has that key read by id.
    """
    params = {"case_id": case.id, "before": before}
    rows = list(column_rows(_thread_statement(before is not None, size + 1), params))
    more = len(rows) > size
    rows = rows[:size]
    rows.reverse()
    keys = {case.data_key_id: case.data_key}
    for row in rows:
        if row.data_key_id is not None and row.data_key_id not in keys:
            keys[row.data_key_id] = db.session.get(DataKey, row.data_key_id)
    messages = [ThreadMessage(*row[:-1], data_key=keys.get(row.data_key_id)) for row in rows]
    return ThreadPage(
        messages=messages,
        earlier=messages[0].id if more and messages else None,
        total=total,
        latest=before is None,
    )

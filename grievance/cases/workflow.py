"""The case workflow as a pure state machine.

States: new -> acknowledged -> in progress -> referred -> resolved -> closed,
with reopening. `decide` takes the current state and an action and returns
the next state, or raises `IllegalTransitionError` with a message a caseworker
can act on. It reads no database and changes nothing, so every rule here is
tested directly; the service that applies the result lives in
`grievance.cases.casework`.

One rule guards against quietly dropping dangerous cases: a P0 or P1 case
cannot be closed as "no contact" by a caseworker alone. The request is held
for an admin's review (`Decision.needs_review`), and only an admin's
approval closes it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from grievance.cases.labels import STATUS_LABELS
from grievance.cases.models import CaseStatus
from grievance.i18n import lazy_gettext as _l


class Action(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    START = "start"
    REFER = "refer"
    RESUME = "resume"  # back from a referral that ended without a result
    RESOLVE = "resolve"
    CLOSE = "close"
    APPROVE_CLOSE = "approve_close"  # an admin's review of a held closure
    REJECT_CLOSE = "reject_close"
    REOPEN = "reopen"


class ClosureReason(enum.StrEnum):
    RESOLVED = "resolved"
    NO_CONTACT = "no_contact"
    WITHDRAWN = "withdrawn"  # the worker asked to stop
    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"


# Urgencies whose "no contact" closure waits for an admin (DOMAIN.md, rec).
REVIEWED_URGENCIES = frozenset({"P0", "P1"})

S = CaseStatus
OPEN_STATES = frozenset({S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.REFERRED})

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[str], str]] = {
    Action.ACKNOWLEDGE: (frozenset({S.NEW}), S.ACKNOWLEDGED),
    Action.START: (frozenset({S.NEW, S.ACKNOWLEDGED}), S.IN_PROGRESS),
    Action.REFER: (frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS}), S.REFERRED),
    Action.RESUME: (frozenset({S.REFERRED}), S.IN_PROGRESS),
    Action.RESOLVE: (frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.REFERRED}), S.RESOLVED),
    Action.CLOSE: (OPEN_STATES | {S.RESOLVED}, S.CLOSED),
    Action.APPROVE_CLOSE: (OPEN_STATES | {S.RESOLVED}, S.CLOSED),
    Action.REJECT_CLOSE: (OPEN_STATES | {S.RESOLVED}, ""),  # "" = the state stays
    Action.REOPEN: (frozenset({S.RESOLVED, S.CLOSED}), S.IN_PROGRESS),
}

ACTION_LABELS = {
    Action.ACKNOWLEDGE: _l("Acknowledge"),
    Action.START: _l("Start work"),
    Action.REFER: _l("Mark as referred"),
    Action.RESUME: _l("Resume (referral ended)"),
    Action.RESOLVE: _l("Resolve"),
    Action.CLOSE: _l("Close"),
    Action.APPROVE_CLOSE: _l("Approve closure"),
    Action.REJECT_CLOSE: _l("Reject closure"),
    Action.REOPEN: _l("Reopen"),
}


class IllegalTransitionError(Exception):
    """The action is not allowed from this state; `message` says why."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


# The name other modules first knew it by.
IllegalTransition = IllegalTransitionError


@dataclass(frozen=True)
class Decision:
    """What applying an action means: the next state and any review flag.

    `status` is the state after the action (unchanged while a closure waits
    for review). `review_state` is "pending" when an admin must review,
    None when any earlier request is settled, and `keep_review` means leave
    it as it was.
    """

    status: str
    review_state: str | None = None
    keep_review: bool = False
    closure_reason: str | None = None

    @property
    def needs_review(self) -> bool:
        return self.review_state == "pending"


def decide(
    status: str,
    action: str,
    *,
    urgency: str,
    actor_role: str,
    closure_reason: str | None = None,
    review_state: str | None = None,
) -> Decision:
    """The outcome of `action` on a case in `status`, or IllegalTransitionError."""
    try:
        act = Action(action)
    except ValueError:
        raise IllegalTransitionError(_l("This is not a known case action.")) from None
    sources, target = TRANSITIONS[act]
    if status not in sources:
        raise IllegalTransitionError(
            _l(
                "A case that is %(status)s cannot be changed with “%(action)s”.",
                status=_status_text(status),
                action=ACTION_LABELS[act],
            )
        )
    if act is Action.CLOSE:
        return _close(status, urgency, actor_role, closure_reason)
    if act in (Action.APPROVE_CLOSE, Action.REJECT_CLOSE):
        if actor_role != "admin":
            raise IllegalTransitionError(_l("Only an admin can review a closure."))
        if review_state != "pending":
            raise IllegalTransitionError(_l("No closure is waiting for review on this case."))
        if act is Action.REJECT_CLOSE:
            return Decision(status=status, review_state="rejected")
        return Decision(status=target, review_state="approved", closure_reason="no_contact")
    if act is Action.REOPEN:
        return Decision(status=target, review_state=None)
    return Decision(status=target, keep_review=True)


def _close(status: str, urgency: str, actor_role: str, reason: str | None) -> Decision:
    try:
        why = ClosureReason(reason or "")
    except ValueError:
        raise IllegalTransitionError(_l("Choose why the case is being closed.")) from None
    if why is ClosureReason.RESOLVED and status != S.RESOLVED:
        raise IllegalTransitionError(_l("Resolve the case before closing it as resolved."))
    if why is ClosureReason.NO_CONTACT and urgency in REVIEWED_URGENCIES:
        if actor_role != "admin":
            # Held, not refused: the case stays open and in the queue until
            # an admin has looked at it.
            return Decision(status=status, review_state="pending", closure_reason=why.value)
        return Decision(status=S.CLOSED, review_state="approved", closure_reason=why.value)
    return Decision(status=S.CLOSED, review_state=None, closure_reason=why.value)


def allowed_actions(status: str, *, actor_role: str, review_state: str | None) -> list[Action]:
    """The actions to offer on the case page, in a sensible order."""
    actions = []
    for act, (sources, _target) in TRANSITIONS.items():
        if status not in sources:
            continue
        if act in (Action.APPROVE_CLOSE, Action.REJECT_CLOSE):
            if actor_role != "admin" or review_state != "pending":
                continue
        actions.append(act)
    return actions


def _status_text(status: str) -> object:
    # Lazy, so the message is translated when shown, not when raised.
    return STATUS_LABELS.get(status, status)

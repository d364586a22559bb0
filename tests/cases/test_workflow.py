"""The case workflow as a pure state machine: every rule, no database."""

from __future__ import annotations

import pytest

from grievance.cases.workflow import (
    TRANSITIONS,
    Action,
    IllegalTransition,
    IllegalTransitionError,
    allowed_actions,
    decide,
)

STATES = ("new", "acknowledged", "in_progress", "referred", "resolved", "closed")


def go(status: str, action: str, urgency: str = "P2", role: str = "caseworker", **kw):  # type: ignore[no-untyped-def]
    return decide(status, action, urgency=urgency, actor_role=role, **kw)


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        ("new", "acknowledge", "acknowledged"),
        ("new", "start", "in_progress"),
        ("acknowledged", "start", "in_progress"),
        ("acknowledged", "refer", "referred"),
        ("in_progress", "refer", "referred"),
        ("referred", "resume", "in_progress"),
        ("in_progress", "resolve", "resolved"),
        ("referred", "resolve", "resolved"),
        ("resolved", "reopen", "in_progress"),
        ("closed", "reopen", "in_progress"),
    ],
)
def test_legal_transitions(status: str, action: str, after: str) -> None:
    assert go(status, action).status == after


def test_the_happy_path_end_to_end() -> None:
    status = "new"
    for action in ("acknowledge", "start", "refer", "resolve"):
        status = go(status, action).status
    closed = go(status, "close", closure_reason="resolved")
    assert closed.status == "closed" and closed.closure_reason == "resolved"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("new", "refer"),
        ("new", "resolve"),
        ("new", "reopen"),
        ("acknowledged", "acknowledge"),
        ("in_progress", "resume"),
        ("resolved", "start"),
        ("closed", "close"),
        ("closed", "resolve"),
        ("referred", "refer"),
    ],
)
def test_illegal_transitions_are_refused_with_a_message(status: str, action: str) -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        go(status, action)
    message = str(caught.value.message)
    assert message and "cannot be changed" in message


def test_every_state_and_action_is_decided_one_way_or_the_other() -> None:
    """No combination crashes: it either moves or is refused clearly."""
    for status in STATES:
        for action in Action:
            try:
                decision = go(status, action, role="admin", closure_reason="duplicate")
            except IllegalTransitionError as exc:
                assert str(exc.message)
            else:
                assert decision.status in STATES


def test_unknown_action_is_refused() -> None:
    with pytest.raises(IllegalTransition):  # the older name still works
        go("new", "teleport")


@pytest.mark.parametrize("urgency", ["P0", "P1"])
def test_urgent_no_contact_closure_waits_for_an_admin(urgency: str) -> None:
    held = go("in_progress", "close", urgency=urgency, closure_reason="no_contact")
    assert held.needs_review
    assert held.status == "in_progress"  # still open, still in the queue
    # A caseworker cannot approve it.
    with pytest.raises(IllegalTransitionError):
        go("in_progress", "approve_close", urgency=urgency, review_state="pending")
    approved = go(
        "in_progress", "approve_close", urgency=urgency, role="admin", review_state="pending"
    )
    assert approved.status == "closed" and approved.review_state == "approved"
    rejected = go(
        "in_progress", "reject_close", urgency=urgency, role="admin", review_state="pending"
    )
    assert rejected.status == "in_progress" and rejected.review_state == "rejected"


def test_review_needs_a_pending_request() -> None:
    with pytest.raises(IllegalTransitionError):
        go("in_progress", "approve_close", urgency="P0", role="admin", review_state=None)


def test_admin_closing_an_urgent_case_for_no_contact_is_the_review() -> None:
    decision = go("in_progress", "close", urgency="P0", role="admin", closure_reason="no_contact")
    assert decision.status == "closed" and decision.review_state == "approved"


@pytest.mark.parametrize("urgency", ["P2", "P3"])
def test_less_urgent_cases_close_for_no_contact_directly(urgency: str) -> None:
    decision = go("acknowledged", "close", urgency=urgency, closure_reason="no_contact")
    assert decision.status == "closed" and not decision.needs_review


def test_closing_needs_a_known_reason_and_resolved_needs_resolution() -> None:
    with pytest.raises(IllegalTransitionError):
        go("in_progress", "close")
    with pytest.raises(IllegalTransitionError):
        go("in_progress", "close", closure_reason="bored")
    with pytest.raises(IllegalTransitionError):
        go("in_progress", "close", closure_reason="resolved")
    assert go("new", "close", closure_reason="duplicate").status == "closed"


def test_reopen_clears_the_review() -> None:
    assert go("closed", "reopen").review_state is None


def test_allowed_actions_match_the_table() -> None:
    for status in STATES:
        offered = allowed_actions(status, actor_role="caseworker", review_state=None)
        for action in offered:
            assert status in TRANSITIONS[action][0]
        assert Action.APPROVE_CLOSE not in offered
    assert Action.APPROVE_CLOSE in allowed_actions(
        "in_progress", actor_role="admin", review_state="pending"
    )
    assert allowed_actions("closed", actor_role="caseworker", review_state=None) == [Action.REOPEN]

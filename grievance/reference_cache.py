"""Short-lived copies of the small lists every staff page reads.

The queue and the case page drew their menus (categories, ILO indicators,
residence statuses, who a case can be assigned to, canned replies, which
partner types each category goes to, the partner directory) from the
database on every view: seven queries on the case page, two on the queue,
for lists that change a few times a year. Each process now keeps plain copies of them (codes, names,
template texts; never ORM objects, never anything sealed) for `TTL`
seconds.

A write to one of those tables through this process's ORM forgets the
copies at once (`_forget_on_write`, on every flush and bulk statement); the
other web processes see it within `TTL` seconds. Assigning checks the
account in the database again, so a disabled account is never given a case;
referring checks that the partner is still active; triage checks that the
codes it saves exist, so for those few seconds a category an admin has just
disabled can still be chosen in another process.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

T = TypeVar("T")

TTL = 30.0  # seconds another process may show a list that changed
# Keys can name a page's filters; a client cannot grow the store without end.
MAX_ENTRIES = 500
_KEY = "grievance.reference_cache"


def _store(app: Flask) -> dict[Any, tuple[float, Any]]:
    return app.extensions.setdefault(_KEY, {})  # type: ignore[no-any-return]


def cached(key: Any, load: Callable[[], T]) -> T:
    """`load()`'s result, reused in this process for up to `TTL` seconds.

    `key` names the list and what it depends on (the page's language, say).
    One store per application, so tests that build their own app never see
    each other's lists.
    """
    store = _store(current_app)
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]  # type: ignore[no-any-return]
    value = load()
    if len(store) >= MAX_ENTRIES:
        store.clear()
    store[key] = (now + TTL, value)
    return value


def forget() -> None:
    """Drop every copy (this process only)."""
    if has_app_context():
        _store(current_app).clear()


def forget_one(key: Any) -> None:
    """Drop the copy kept under `key` (this process only)."""
    if has_app_context():
        _store(current_app).pop(key, None)


@functools.cache
def _watched() -> tuple[type, ...]:
    # Imported late: the models import the extensions this module sits beside.
    from grievance.cases.models import (
        CannedResponse,
        Category,
        IloIndicator,
        Partner,
        ResidenceStatus,
    )
    from grievance.staff.models import StaffUser

    return (Category, IloIndicator, ResidenceStatus, CannedResponse, StaffUser, Partner)


_WROTE = "grievance.reference_cache.wrote"


def _wrote(session: Session) -> None:
    # Forgotten now, and again once committed: a request on another thread
    # of this process may have read the old rows in between.
    session.info[_WROTE] = True
    forget()


@event.listens_for(Session, "after_flush")
def _forget_on_write(session: Session, _flush: UOWTransaction) -> None:
    watched = _watched()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, watched):
            _wrote(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_write(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if issubclass(state.bind_mapper.class_, _watched()):
            _wrote(state.session)


@event.listens_for(Session, "after_commit")
def _forget_once_committed(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        forget()


@event.listens_for(Session, "after_soft_rollback")
def _nothing_was_written(session: Session, _previous: object) -> None:
    session.info.pop(_WROTE, None)

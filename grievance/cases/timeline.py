"""The case timeline: audit events turned into lines a caseworker can read.

Audit details hold codes and ids only, so everything shown here is a
label looked up from a code, a staff member's display name, or a count:
the timeline cannot leak what the worker wrote even if a detail were
rendered raw.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, select, text, union_all

from grievance.cases import labels
from grievance.cases.models import STORY_EVENTS_SQL, VIEW_EVENTS_SQL, CaseEvent
from grievance.cases.queue import staff_labels
from grievance.extensions import column_rows
from grievance.i18n import gettext as _
from grievance.i18n import lazy_gettext as _l

# Why photos sent by message were not kept (the audit detail's "reason").
MEDIA_NOT_KEPT: dict[str | None, Any] = {
    "type": _l("%(count)s not a photo or a PDF"),
    "limit": _l("%(count)s over the limit of 5 a message"),
    "fetch": _l("%(count)s could not be fetched from the provider"),
    None: _l("%(count)s sent; the worker was asked to add them on the follow-up page"),
}

# Views are recorded for every page load; they are counted, not listed
# (STORY_EVENTS_SQL leaves them out).


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    kind: str
    title: str
    actor: str
    text: str


# What a line shows, read as plain columns (not CaseEvent objects): the page
# only reads them, and the ORM's load of even two or three events cost more
# than the rest of the timeline (see `grievance.extensions.column_rows`).
_LINE_COLUMNS = (CaseEvent.created_at, CaseEvent.kind, CaseEvent.actor_id, CaseEvent.detail)


@functools.cache
def events_statement(include_views: bool) -> Executable:
    """A case's events (`case_id`) in the chain's order. Each read matches
    one of the events' two partial indexes; with views, both, merged (no
    index holds all of a case's events). Built once: the case page reads
    its timeline on every view."""
    case_id = bindparam("case_id")
    story = select(*_LINE_COLUMNS, CaseEvent.seq).where(
        CaseEvent.case_id == case_id, text(STORY_EVENTS_SQL)
    )
    if not include_views:
        return story.order_by(CaseEvent.seq)
    views = select(*_LINE_COLUMNS, CaseEvent.seq).where(
        CaseEvent.case_id == case_id, text(VIEW_EVENTS_SQL)
    )
    return union_all(story, views).order_by("seq")


def timeline(case_id: int, *, include_views: bool = False) -> list[TimelineLine]:
    events = [
        (event, event.detail or {})
        for event in column_rows(events_statement(include_views), {"case_id": case_id})
    ]
    staff_ids: set[int] = set()
    for event, detail in events:
        if event.actor_id:
            staff_ids.add(event.actor_id)
        if event.kind == "case.assigned":
            staff_ids.update(v for v in (detail.get("from"), detail.get("to")) if v)
    names = staff_labels(staff_ids)
    return [
        TimelineLine(
            at=event.created_at,
            kind=event.kind,
            title=labels.event_label(event.kind),
            actor=names.get(event.actor_id, "") if event.actor_id else _("System"),
            text=describe(event.kind, detail, names),
        )
        for event, detail in events
    ]


def _staff(names: dict[int, str], staff_id: Any) -> str:
    if not staff_id:
        return _("nobody")
    return names.get(staff_id, f"#{staff_id}")


def describe(kind: str, detail: dict[str, Any], names: dict[int, str]) -> str:
    """One line about what changed, from codes only."""
    if kind == "case.opened":
        return " · ".join(
            [
                labels.channel_label(detail.get("channel", "")),
                labels.urgency_label(detail.get("urgency", "")),
                detail.get("language", ""),
            ]
        )
    if kind == "case.transition":
        text = _(
            "%(before)s → %(after)s",
            before=labels.status_label(detail.get("from", "")),
            after=labels.status_label(detail.get("to", "")),
        )
        if detail.get("reason"):
            text += " (" + labels.closure_label(detail["reason"]) + ")"
        return text
    if kind == "case.acknowledged":
        return _(
            "%(before)s → %(after)s",
            before=labels.status_label(detail.get("from", "")),
            after=labels.status_label(detail.get("to", "")),
        )
    if kind == "case.closure_requested":
        return labels.closure_label(detail.get("reason"))
    if kind == "case.closure_reviewed":
        return labels.review_label(detail.get("decision"))
    if kind == "case.assigned":
        return _(
            "%(before)s → %(after)s",
            before=_staff(names, detail.get("from")),
            after=_staff(names, detail.get("to")),
        )
    if kind == "case.red_flag":
        text = ", ".join(labels.signal_label(s) for s in detail.get("signals", []))
        if detail.get("urgency"):
            before, after = detail["urgency"]
            text += " · " + _("%(before)s → %(after)s", before=before, after=after)
        return text
    if kind == "case.paged":
        return _("%(count)s on call", count=detail.get("staff", 0))
    if kind == "case.triaged":
        return _describe_triage(detail)
    if kind in ("message.sent", "message.received"):
        parts = [labels.channel_label(detail.get("channel", ""))]
        if detail.get("delivery"):
            parts.append(str(detail["delivery"]))
        return " · ".join(parts)
    if kind in ("case.clock_added", "case.clock_done"):
        return labels.clock_label(detail.get("kind", ""))
    if kind == "case.reminder":
        return str(detail.get("kind", ""))
    if kind == "message.media_not_kept":
        why = MEDIA_NOT_KEPT.get(detail.get("reason"), MEDIA_NOT_KEPT[None])
        return str(why) % {"count": detail.get("count", 0)}
    return ""


def _describe_triage(detail: dict[str, Any]) -> str:
    parts = []
    if "categories" in detail:
        parts.append(_("categories: %(codes)s", codes=", ".join(detail["categories"]) or "—"))
    if "indicators" in detail:
        parts.append(_("indicators: %(codes)s", codes=", ".join(detail["indicators"]) or "—"))
    if "urgency" in detail:
        before, after = detail["urgency"]
        parts.append(
            _(
                "urgency %(before)s → %(after)s (%(reason)s)",
                before=before,
                after=after,
                reason=labels.urgency_reason_label(detail.get("reason")),
            )
        )
    if "residence" in detail:
        parts.append(_("residence status: %(code)s", code=detail["residence"] or "—"))
    if "parties" in detail:
        roles = ", ".join(labels.party_label(r) for r in detail["parties"]) or "—"
        parts.append(_("intermediaries: %(roles)s", roles=roles))
    return "; ".join(parts)

"""Background jobs. Each takes ids only and is safe to run twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from grievance.datakeys import utcnow
from grievance.extensions import commit, db
from grievance.notify.channels import ChannelError, current_channel
from grievance.notify.models import OutboundMessage, OutboxStatus

log = logging.getLogger(__name__)


def _last_attempt() -> bool:
    job = get_current_job()
    if job is None:  # in-process: no retries of its own; the sweeper retries
        return False
    return not job.retries_left


def deliver_outbound(outbox_id: int) -> str:
    """Send one outbox row. A row that is no longer pending is left alone."""
    row = db.session.get(OutboundMessage, outbox_id, with_for_update=_locks())
    if row is None:
        return "missing"
    if row.status != OutboxStatus.PENDING:
        db.session.rollback()
        return row.status
    row.attempts += 1
    try:
        delivery = current_channel().send(row.id, row.channel, row.recipient or "", row.body or "")
    except ChannelError as exc:
        row.error_code = exc.code
        if not exc.retryable or _last_attempt():
            row.status = OutboxStatus.FAILED
            commit()
            log.warning("outbox message %s failed: %s", outbox_id, exc.code)
            return row.status
        commit()
        raise  # RQ retries with backoff
    row.status = OutboxStatus.SENT
    row.provider_id = delivery.provider_id
    row.sent_at = utcnow()
    row.error_code = None
    commit()
    return row.status


deliver_outbound.queue = "urgent"  # type: ignore[attr-defined]


def _locks() -> dict[str, object] | None:
    # Two workers must not send the same row twice: lock the outbox row
    # (only that table; its data key is joined in).
    if db.engine.dialect.name == "postgresql":
        return {"of": OutboundMessage.__table__}
    return None


def requeue_stale(older_than: timedelta | None = None) -> int:
    """Re-enqueue pending rows left behind (Redis down, worker killed)."""
    from grievance.notify import dispatch

    age = older_than or timedelta(seconds=current_app.config["OUTBOX_STALE_SECONDS"])
    ids = db.session.scalars(
        select(OutboundMessage.id)
        .where(OutboundMessage.status == OutboxStatus.PENDING)
        .where(OutboundMessage.updated_at < utcnow() - age)
        .order_by(OutboundMessage.id)
        .limit(1000)
    ).all()
    db.session.rollback()
    for outbox_id in ids:
        dispatch.enqueue("deliver_outbound", outbox_id)
    return len(ids)


REGISTRY: dict[str, Callable[..., Any]] = {
    "deliver_outbound": deliver_outbound,
}

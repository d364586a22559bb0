"""Background jobs. Each takes ids only and is safe to run twice.

`deliver_outbound` is where the contact rules bite, at the moment of
sending: after STOP nothing goes out (the row is cancelled); outside the
hours the worker allowed the row waits (`not_before`, picked up by the
sweeper); a WhatsApp message outside the 24-hour window is held and a
pre-approved template invites the worker to reply, which releases it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from rq import get_current_job
from sqlalchemy import or_, select

from grievance.datakeys import as_utc, utcnow
from grievance.extensions import commit, db, row_lock
from grievance.notify import outbox
from grievance.notify.channels import ChannelError, current_channel
from grievance.notify.models import ContactRule, OutboundMessage, OutboxStatus

log = logging.getLogger(__name__)

# Purposes whose text is erased once the provider has it.
ERASE_AFTER_SEND = ("receipt",)


def _under_rq() -> bool:
    return get_current_job() is not None


def rq_retries_left() -> bool:
    """Inside an RQ job that RQ will run again if it raises."""
    job = get_current_job()
    return bool(job is not None and job.retries_left)


def backoff(attempts: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min, then hourly: for the sweeper's retries."""
    return timedelta(seconds=min(30 * 4 ** max(attempts - 1, 0), 3600))


def template_sid(language: str | None) -> str | None:
    """The WhatsApp Content SID for the worker's language, else English's."""
    sids: dict[str, str] = current_app.config.get("WHATSAPP_TEMPLATE_SIDS") or {}
    return sids.get(language or "") or sids.get("en")


def _invitation_text(language: str | None) -> str:
    texts: outbox.WorkerTexts | None = current_app.extensions.get("grievance.worker_texts")
    return texts.window_invitation(language) if texts is not None else ""


def _hold_for_window(row: OutboundMessage, rule: ContactRule, now: datetime) -> None:
    """Hold a free-form WhatsApp message; invite a reply once per closed window."""
    outbox.set_status(row, OutboxStatus.HELD, "whatsapp-window")
    row.not_before = None
    last_in = as_utc(rule.whatsapp_inbound_at)
    invited = as_utc(rule.template_sent_at)
    if invited is not None and (last_in is None or invited > last_in):
        return  # already invited since the worker last wrote
    rule.template_sent_at = now
    assert row.data_key is not None
    outbox.queue_message(
        channel="whatsapp",
        recipient=row.recipient or "",
        body=_invitation_text(row.language),
        purpose=outbox.WINDOW_INVITE,
        data_key=row.data_key,
        case_id=row.case_id,
        language=row.language,
    )


def deliver_outbound(outbox_id: int) -> str:
    """Send one outbox row, obeying the contact rules; returns what happened.

    A row that is no longer pending is left alone, so running the job twice
    (a lost acknowledgement, the sweeper and a retry racing) sends once.
    """
    row = db.session.get(OutboundMessage, outbox_id, with_for_update=row_lock(OutboundMessage))
    if row is None:
        return "missing"
    if row.status != OutboxStatus.PENDING:
        db.session.rollback()
        return row.status
    now = utcnow()
    rule = outbox.rule_for(row.address_index)
    if rule is not None and rule.stopped:
        outbox.set_status(row, OutboxStatus.CANCELLED, "stopped")
        commit()
        return row.status
    if not outbox.may_send_now(rule, now):
        assert rule is not None
        row.not_before = outbox.next_allowed(rule, now)
        row.updated_at = now
        commit()
        return "waiting"
    is_template = row.purpose == outbox.WINDOW_INVITE
    if row.channel == "whatsapp" and not is_template and not outbox.window_open(rule, now):
        rule = rule or outbox.rule_for(row.address_index, create=True)
        if rule is None:  # no usable number: nothing to hold for
            outbox.set_status(row, OutboxStatus.FAILED, "invalid-number")
        else:
            _hold_for_window(row, rule, now)
        commit()
        return row.status
    content_sid = None
    if is_template:
        content_sid = template_sid(row.language)
        if content_sid is None:
            outbox.set_status(row, OutboxStatus.FAILED, "no-template")
            commit()
            log.warning("outbox message %s: no WhatsApp template configured", outbox_id)
            return row.status
    row.attempts += 1
    recipient, body = row.recipient or "", row.body or ""
    try:
        if content_sid:
            delivery = current_channel().send(
                row.id, row.channel, recipient, body, content_sid=content_sid
            )
        else:
            delivery = current_channel().send(row.id, row.channel, recipient, body)
    except ChannelError as exc:
        return _failed(row, exc, rule, now)
    row.provider_id = delivery.provider_id
    row.sent_at = now
    row.not_before = None
    row.error_code = None
    if row.purpose in ERASE_AFTER_SEND and current_app.config.get("MESSAGING_BACKEND") != "console":
        # A receipt carries the secret, which must not outlive its one trip;
        # only the embedded default keeps it, for the phone simulator to show.
        row.body = None
    outbox.set_status(row, OutboxStatus.SENT)
    commit()
    return row.status


deliver_outbound.queue = "urgent"  # type: ignore[attr-defined]


def _failed(
    row: OutboundMessage, exc: ChannelError, rule: ContactRule | None, now: datetime
) -> str:
    outbox_id = row.id
    if exc.window_closed:
        rule = rule or outbox.rule_for(row.address_index, create=True)
        if rule is not None:
            rule.whatsapp_inbound_at = None  # the provider knows better than our clock
            _hold_for_window(row, rule, now)
            commit()
            return row.status
    max_attempts = int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", 8))
    if not exc.retryable or row.attempts >= max_attempts:
        outbox.set_status(row, OutboxStatus.FAILED, exc.code)
        commit()
        log.warning("outbox message %s failed: %s", outbox_id, exc.code)
        return row.status
    row.error_code = exc.code
    row.not_before = now + backoff(row.attempts)
    row.updated_at = now
    commit()
    log.info("outbox message %s will be retried: %s", outbox_id, exc.code)
    if rq_retries_left():
        raise exc  # RQ retries with its own backoff; the sweeper is the safety net
    return "retry"


def requeue_stale(older_than: timedelta | None = None) -> int:
    """Re-enqueue pending rows left behind (Redis down, worker killed, a wait over)."""
    from grievance.notify import dispatch

    age = older_than or timedelta(seconds=current_app.config["OUTBOX_STALE_SECONDS"])
    now = utcnow()
    ids = db.session.scalars(
        select(OutboundMessage.id)
        .where(OutboundMessage.status == OutboxStatus.PENDING)
        .where(OutboundMessage.updated_at < now - age)
        .where(or_(OutboundMessage.not_before.is_(None), OutboundMessage.not_before <= now))
        .order_by(OutboundMessage.id)
        .limit(int(current_app.config.get("OUTBOX_SWEEP_BATCH", 1000)))
    ).all()
    db.session.rollback()
    for outbox_id in ids:
        dispatch.enqueue("deliver_outbound", outbox_id)
    return len(ids)


def each_in_its_own_transaction(ids: Sequence[int], work: Callable[[int], bool], what: str) -> int:
    """Periodic work on rows left behind: `work` for each id, committed when
    it did something, rolled back when not or when it fails (logged with the
    id and the error's type only), so one that fails again waits for the
    next round and does not hold up the others. How many did something."""
    done = 0
    for row_id in ids:
        try:
            if work(row_id):
                commit()
                done += 1
            else:
                db.session.rollback()
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            db.session.rollback()
            log.warning("%s %s: not done (%s)", what, row_id, type(exc).__name__)
    return done


def run_woken(
    job: str,
    waiting_after: Callable[[int], Sequence[int]],
    work: Callable[[int], bool],
    what: str,
    *,
    batch: int,
    run_for: float,
) -> tuple[int, bool]:
    """The body of a job woken by `dispatch.wake`: `work` for each waiting
    row, `batch` ids at a time from `waiting_after(after)` (ids above
    `after`, oldest first, at most `batch`), each in its own transaction
    (`each_in_its_own_transaction`: a row that fails is logged and passed);
    after `run_for` seconds another run is woken for the rest. How many did
    something, and whether more were left waiting.

    The wake flag is cleared before the first read, so a row committed
    after that wakes a run of its own.
    """
    from grievance.notify import dispatch

    dispatch.woken(job)
    started = time.monotonic()
    done, after = 0, 0
    while True:
        ids = waiting_after(after)
        done += each_in_its_own_transaction(ids, work, what)
        if len(ids) < batch:
            return done, False
        after = ids[-1]
        if time.monotonic() - started >= run_for:
            dispatch.wake(job)
            return done, True


def run_periodic() -> dict[str, int]:
    """The sweeper's round: the outbox, then tasks other layers registered
    (e.g. closing abandoned conversations), each by name with a count."""
    done = {"outbox": requeue_stale()}
    tasks: dict[str, Callable[[], int]] = current_app.extensions.get("grievance.periodic", {})
    for name, task in tasks.items():
        try:
            done[name] = task()
        except Exception as exc:  # noqa: BLE001 - one failing task must not stop the others
            db.session.rollback()
            log.warning("periodic task %s failed: %s", name, type(exc).__name__)
    return done


REGISTRY: dict[str, Callable[..., Any]] = {
    "deliver_outbound": deliver_outbound,
}

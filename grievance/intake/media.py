"""Photos and files sent by SMS or WhatsApp, fetched into the worker's case.

* Fetched only on the Twilio channel (the console channel of the embedded
  default carries no media), for a worker whose case is open. Photos sent
  during an intake, once the worker agreed that we keep what they send,
  wait (addresses sealed) for the case the intake opens, then are fetched;
  if the intake's words are forgotten, so are they. Before that agreement
  they are not kept and the worker is told to send them again afterwards;
  without Twilio, to add them on the follow-up page. An open case's
  timeline counts those not kept (grievance.intake.gateway).
* The job takes the stored message's id only; the media addresses are sealed
  on that row and erased once the files are in the case.
* Each file is cleaned like a web upload (grievance.intake.uploads: a photo
  or a PDF, written anew without metadata) and sealed under the case's key;
  anything else is refused and counted on the timeline.
* Fetched files are then deleted at Twilio, so the photo does not stay with
  the provider; so are those not kept (marked `media_discard`), unread.
* A failure the network may fix is retried by RQ and, for rows left waiting,
  by the periodic round, for a day; then the addresses are dropped and the
  timeline says the files could not be fetched.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from functools import partial

from flask import current_app
from sqlalchemy import or_, select

from grievance.cases import audit
from grievance.cases.models import Case, Message
from grievance.datakeys import utcnow
from grievance.extensions import after_commit, commit, db
from grievance.intake.conversation import Step
from grievance.intake.models import Conversation, InboundMessage
from grievance.intake.uploads import MAX_BYTES, CleanFile, UploadError, clean_bytes
from grievance.intake.web import add_attachments
from grievance.notify import dispatch
from grievance.notify.channels import MediaError, TwilioMedia
from grievance.notify.jobs import rq_retries_left

log = logging.getLogger(__name__)

MAX_MEDIA = 5  # Twilio sends at most 10; a web report takes 5
RETRY_AFTER = timedelta(minutes=2)
GIVE_UP_AFTER = timedelta(days=1)


def source() -> TwilioMedia:
    media: TwilioMedia | None = current_app.extensions.get("grievance.media")
    if media is None:
        media = TwilioMedia(current_app)
        current_app.extensions["grievance.media"] = media
    return media


def fetching() -> bool:
    """Are media fetched here? Only from Twilio itself."""
    return current_app.config.get("MESSAGING_BACKEND") == "twilio"


def fetch_after_commit(row: InboundMessage) -> None:
    """Queue the job for this stored message once the transaction commits."""
    after_commit(partial(dispatch.enqueue, "fetch_inbound_media", row.id))


def discard(row: InboundMessage) -> None:
    """These files are not kept: once committed, a job deletes them at the
    provider (so the photo does not stay there) and then their addresses."""
    if row.media and fetching():
        row.media_discard = True
        fetch_after_commit(row)
    else:
        row.media = None


def _delete_at_provider(row: InboundMessage, urls: list[str]) -> None:
    row.media = None
    commit()
    for url in urls:
        source().delete(url)


def _count_beyond_the_limit(row: InboundMessage, case_id: int) -> None:
    """More than MAX_MEDIA came, or addresses not of our account: counted
    on the timeline once the case they were sent for exists."""
    beyond = row.media_count - len(json.loads(row.media or "[]"))
    if beyond > 0:
        audit.record(
            "message.media_not_kept",
            case_id=case_id,
            detail={"count": beyond, "reason": "limit"},
        )


def fetch_inbound_media(inbound_id: int) -> str:
    """Fetch, clean and attach the media of one stored message (or, marked
    to discard, only delete them at the provider); what happened."""
    row = db.session.get(InboundMessage, inbound_id)
    if row is None or not row.media:
        return "nothing"
    urls: list[str] = json.loads(row.media)
    if row.media_discard:
        _delete_at_provider(row, urls)
        return "discarded"
    conversation = db.session.get(Conversation, row.conversation_id)
    if conversation is not None and conversation.step != Step.OPEN:
        # Sent during an intake: they wait for the case it opens (which
        # queues this job again), or are dropped with its words.
        db.session.rollback()
        return "waiting"
    case = (
        db.session.get(Case, conversation.case_id)
        if conversation and conversation.case_id
        else None
    )
    if case is None:  # the case was purged meanwhile
        _delete_at_provider(row, urls)
        return "no-case"
    files: list[CleanFile] = []
    refused = 0
    for n, url in enumerate(urls, start=1):
        try:
            data = source().fetch(url, MAX_BYTES)
        except MediaError as exc:
            if exc.retryable:
                db.session.rollback()
                log.info("inbound %s: media will be fetched again (%s)", inbound_id, exc.code)
                if rq_retries_left():
                    raise
                return "retry"
            refused += 1
            continue
        try:
            files.append(clean_bytes(data, f"message-{inbound_id}-{n}"))
        except UploadError:
            refused += 1
    message_id = db.session.scalar(select(Message.id).where(Message.provider_id == row.provider_id))
    add_attachments(case, files, message_id)
    _count_beyond_the_limit(row, case.id)
    if refused:
        audit.record(
            "message.media_not_kept",
            case_id=case.id,
            detail={"count": refused, "reason": "type"},
        )
    _delete_at_provider(row, urls)
    return f"{len(files)} kept, {refused} refused"


fetch_inbound_media.queue = "default"  # type: ignore[attr-defined]


def retry_waiting() -> int:
    """Periodic work: fetch again the media left waiting by a network failure;
    after GIVE_UP_AFTER, drop their addresses and say so on the timeline."""
    now = utcnow()
    waiting = select(InboundMessage).where(InboundMessage.media_ct.is_not(None))
    for row in db.session.scalars(
        waiting.where(InboundMessage.processed_at < now - GIVE_UP_AFTER).limit(100)
    ):
        conversation = db.session.get(Conversation, row.conversation_id)
        if (
            not row.media_discard
            and conversation is not None
            and conversation.case_id is not None
            and conversation.step == Step.OPEN
        ):
            _count_beyond_the_limit(row, conversation.case_id)
            audit.record(
                "message.media_not_kept",
                case_id=conversation.case_id,
                detail={"count": len(json.loads(row.media or "[]")), "reason": "fetch"},
            )
        row.media = None
    commit()
    ids = db.session.scalars(
        select(InboundMessage.id)
        .join(Conversation, Conversation.id == InboundMessage.conversation_id)
        .where(InboundMessage.media_ct.is_not(None))
        .where(InboundMessage.processed_at < now - RETRY_AFTER)
        # Not those waiting for the case their intake will open.
        .where(or_(Conversation.step == Step.OPEN, InboundMessage.media_discard.is_(True)))
        .limit(20)
    ).all()
    db.session.rollback()
    for inbound_id in ids:
        fetch_inbound_media(inbound_id)
    return len(ids)

"""`POST /webhooks/twilio/messages`: inbound SMS and WhatsApp messages.

Guarantees, in the order the request meets them:

* The Twilio signature is checked against PUBLIC_BASE_URL + path and the
  whole form; without a valid one the answer is 403 and nothing is stored.
* Only MessageSid, From, Body, NumMedia and the MediaUrl addresses are read
  (addresses only of our own account's media, at most 5; grievance.intake.media
  fetches them for an open case). Everything else Twilio sends
  (FromCity, FromState, FromZip, FromCountry, the To* equivalents,
  ProfileName, WaId, Latitude, Longitude, Address...) is dropped unread:
  never stored, never logged.
* The message is stored (committed), and that is all the request does:
  the conversation runs in a job woken after the commit (one run takes
  every message waiting: a burst of messages queues one run, not a job
  each). If storing fails the answer is 503, so Twilio retries; a
  redelivered MessageSid stores nothing new, wakes the job (it does nothing
  for a handled message) and gets the same empty answer as the first time.
  If handling a stored message fails, the periodic round handles it.
* Replies go out through the outbox (after commit), not in the HTTP answer,
  so they obey STOP, the worker's hours and WhatsApp's window like any
  other message, and the answer stays fast.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, abort, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from grievance import short_writes
from grievance.extensions import commit, csrf, db
from grievance.intake import gateway, sms_text
from grievance.intake import media as inbound_media
from grievance.notify import dispatch
from grievance.notify.jobs import each_in_its_own_transaction
from grievance.notify.signature import request_is_signed

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _twiml(status: int = 200) -> Response:
    return Response(EMPTY_TWIML, status=status, mimetype="text/xml")


def parse_inbound() -> gateway.Inbound | None:
    """The three fields we use, from the (already verified) form; None if absent."""
    form = request.form
    sid = (form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or "").strip()
    sender = (form.get("From") or "").strip()
    if not sid or not sender or len(sid) > 64:
        return None
    channel = "whatsapp" if sender.lower().startswith("whatsapp:") else "sms"
    count = form.get("NumMedia", "0")
    media = min(int(count), 99) if count.isdigit() else 0
    urls = tuple(
        url
        for url in (
            form.get(f"MediaUrl{i}", "") for i in range(min(media, inbound_media.MAX_MEDIA))
        )
        if inbound_media.source().allowed(url)
    )
    return gateway.Inbound(
        provider_id=sid,
        channel=channel,
        sender=sender,
        body=form.get("Body") or "",
        media=media,
        media_urls=urls,
    )


def _store(inbound: gateway.Inbound) -> int:
    try:
        # The look-up and one statement, committed right after: on a pooled
        # connection of their own (grievance.short_writes), and on
        # PostgreSQL the statement as its own transaction.
        with short_writes.unit() as unit:
            return gateway.store_inbound(inbound, unit, look_first=False)
    except IntegrityError:
        # The same MessageSid came again (a redelivery, or twice at once),
        # or a first message from the same number arrived twice at once:
        # the row is there; use it.
        db.session.rollback()
        with short_writes.unit() as unit:
            return gateway.store_inbound(inbound, unit)


@bp.post("/webhooks/twilio/messages")
@csrf.exempt
def twilio_messages() -> Response:
    if not request_is_signed():
        abort(403)
    inbound = parse_inbound()
    if inbound is None:
        abort(400)
    try:
        _store(inbound)
    except gateway.InvalidSender:
        db.session.rollback()
        return _twiml()  # nothing we could ever answer; do not make Twilio retry
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("inbound message not stored (%s); the provider will retry", type(exc).__name__)
        return _twiml(503)
    # Handled by a job (in this process in the embedded default): the
    # answer does not wait for the conversation, the case or the replies.
    dispatch.wake_soon(gateway.WAITING_JOB)
    return _twiml()


def _expire_task() -> int:
    opened = gateway.expire_conversations()
    commit()
    return opened


def _left_over_task() -> int:
    """Periodic work: handle the messages that were stored but whose handling
    failed or whose job was lost."""
    return each_in_its_own_transaction(
        gateway.left_over(), gateway.handle_inbound, "stored message"
    )


def init_app(app: Flask) -> None:
    """Register the webhook, the phone simulator and what notify needs from intake."""
    from grievance.intake import dev_phone

    app.register_blueprint(bp)
    app.register_blueprint(dev_phone.bp)
    app.extensions["grievance.worker_texts"] = sms_text.WorkerTexts()
    app.extensions.setdefault("grievance.periodic", {})["conversations"] = _expire_task
    app.extensions["grievance.periodic"]["inbound_left_over"] = _left_over_task
    app.extensions["grievance.periodic"]["inbound_media"] = inbound_media.retry_waiting
    from grievance.notify import jobs

    jobs.REGISTRY["fetch_inbound_media"] = inbound_media.fetch_inbound_media
    # (handle_inbound: a job a message, as queued before the webhook woke
    # handle_waiting_inbound; kept so such jobs still run.)
    jobs.REGISTRY["handle_inbound"] = gateway.handle_in_order
    jobs.REGISTRY[gateway.WAITING_JOB] = gateway.handle_waiting

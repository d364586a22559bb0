"""Provider callbacks for outbound messages (delivery status).

`/webhooks/twilio/status` is signed like the inbound webhook (403 and
nothing changed otherwise) and idempotent: a status only ever moves a
message forward, so repeated or late callbacks change nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from grievance.extensions import commit, csrf
from grievance.notify import outbox
from grievance.notify.signature import request_is_signed

bp = Blueprint("notify", __name__)


@bp.post("/webhooks/twilio/status")
@csrf.exempt
def twilio_status() -> Response:
    if not request_is_signed():
        abort(403)
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    error = request.form.get("ErrorCode") or None
    if sid and status:
        outbox.apply_provider_status(sid[:64], status, error)
        commit()
    return Response(status=204)

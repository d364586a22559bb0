"""The phone simulator at /dev/phone: try the whole SMS and WhatsApp path locally.

Only in the embedded default with the console channel (404 everywhere
else, and always under the production config), so nothing here can ever
text a real number. It signs each message with the development token and
sends it through the real webhook (signature check, storage, conversation,
outbox), then reads the replies back from the outbox rows, so it works with
any number of web processes. The chosen number travels only in POST bodies
and the signed session, never in a URL.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from wtforms import ValidationError

from grievance import crypto, csrf_tokens, i18n
from grievance.extensions import csrf, db
from grievance.notify import outbox
from grievance.notify.jobs import run_periodic
from grievance.notify.models import OutboundMessage
from grievance.notify.signature import public_url, sign

bp = Blueprint("dev_phone", __name__)

WEBHOOK_PATH = "/webhooks/twilio/messages"
SERVICE_NUMBER = "+815000000000"  # the simulated service's own number
CHANNELS = ("sms", "whatsapp")


def enabled() -> bool:
    config = current_app.config
    return bool(
        config.get("EMBEDDED")
        and config.get("DEV_PHONE")
        and config.get("ENV_NAME") != "production"
        and config.get("MESSAGING_BACKEND", "console") == "console"
    )


@bp.before_request
def _only_when_enabled() -> None:
    if not enabled():
        abort(404)
    i18n.set_language(i18n.DEFAULT_WORKER_LANGUAGE)
    i18n.worker_domain.as_default()


def fake_number() -> str:
    """A random number in Japan's 090 mobile range (it only ever reaches the console)."""
    return "+8190" + "".join(secrets.choice("0123456789") for _ in range(8))


def _number() -> str:
    number = session.get("dev_phone_number")
    if not number:
        number = fake_number()
        session["dev_phone_number"] = number
    return number


def _replies(number: str, channel: str) -> list[OutboundMessage]:
    """The last 50 messages sent to this number on this channel, oldest first."""
    index = outbox.address_index(channel, number)
    if index is None:
        return []
    rows = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.address_index == index, OutboundMessage.channel == channel)
        .order_by(OutboundMessage.id.desc())
        .limit(50)
    ).all()
    return list(reversed(rows))


@bp.get("/dev/phone")
def phone() -> Any:
    # Embedded jobs run in-process: deliver what waited (hours, retries)
    # and close abandoned conversations whenever the simulator is looked at.
    run_periodic()
    number = _number()
    channel = session.get("dev_phone_channel", "sms")
    return render_template(
        "worker/dev_phone.html",
        number=number,
        masked=crypto.mask_phone(number),
        channel=channel,
        channels=CHANNELS,
        replies=_replies(number, channel),
    )


@bp.post("/dev/phone")
@csrf.exempt
def send() -> Any:
    # CSRF is checked here, after the check that the simulator exists, so a
    # disabled simulator answers 404 to every request.
    try:
        csrf_tokens.check_token(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)
    if request.form.get("action") == "new-number":
        session["dev_phone_number"] = fake_number()
        return redirect(url_for("dev_phone.phone"))
    number = (request.form.get("number") or "").strip()
    try:
        number = crypto.normalise_phone(number)
    except crypto.InvalidPhoneNumberError:
        number = _number()
    channel = request.form.get("channel")
    channel = channel if channel in CHANNELS else "sms"
    session["dev_phone_number"] = number
    session["dev_phone_channel"] = channel
    body = request.form.get("body") or ""
    if body.strip():
        deliver_to_webhook(number, channel, body)
    return redirect(url_for("dev_phone.phone"))


def deliver_to_webhook(number: str, channel: str, body: str) -> int:
    """Post a message as Twilio would, signed, through the real webhook; the status."""
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": prefix + number,
        "To": prefix + SERVICE_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    signature = sign(public_url(WEBHOOK_PATH), params)
    client = current_app.test_client()
    response = client.post(WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": signature})
    return response.status_code

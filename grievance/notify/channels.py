"""Outbound channels, behind one small interface.

A new messaging service (Messenger, LINE, Viber) is one more class here and
one line in `CHANNELS`; nothing above this module changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)


class ChannelError(Exception):
    """Delivery failed. `retryable` tells the job whether to try again."""

    def __init__(self, code: str, retryable: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class Delivery:
    provider_id: str


class Channel(Protocol):
    name: str

    def send(self, outbox_id: int, kind: str, recipient: str, body: str) -> Delivery:
        """Hand one message to the provider. `kind` is sms, whatsapp or email."""
        ...


class ConsoleChannel:
    """Embedded default: nothing leaves the machine.

    Messages are kept in memory for the phone simulator and tests; the log
    line names the outbox id only, never the recipient or the text.
    """

    name = "console"

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str, str]] = []

    def send(self, outbox_id: int, kind: str, recipient: str, body: str) -> Delivery:
        self.sent.append((outbox_id, kind, recipient, body))
        log.info("console channel delivered outbox message %s", outbox_id)
        return Delivery(provider_id=f"console-{outbox_id}")


class TwilioChannel:
    """SMS and WhatsApp through Twilio's REST API (a local fake in tests)."""

    name = "twilio"

    def __init__(self, app: Flask) -> None:
        self.sid = app.config.get("TWILIO_ACCOUNT_SID") or ""
        self.token = app.config.get("TWILIO_AUTH_TOKEN") or ""
        self.sms_from = app.config.get("TWILIO_SMS_FROM") or ""
        self.whatsapp_from = app.config.get("TWILIO_WHATSAPP_FROM") or ""
        self.api_base = app.config.get("TWILIO_API_BASE")

    def _client(self):  # type: ignore[no-untyped-def]
        from twilio.rest import Client

        client = Client(self.sid, self.token)
        if self.api_base:
            client.api.base_url = self.api_base
        return client

    def send(self, outbox_id: int, kind: str, recipient: str, body: str) -> Delivery:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        if kind == "whatsapp":
            sender, to = f"whatsapp:{self.whatsapp_from}", f"whatsapp:{recipient}"
        else:
            sender, to = self.sms_from, recipient
        try:
            message = self._client().messages.create(to=to, from_=sender, body=body)
        except TwilioRestException as exc:
            retryable = exc.status == 429 or exc.status >= 500
            raise ChannelError(f"twilio-{exc.status}", retryable) from None
        except TwilioException:
            raise ChannelError("twilio-error", True) from None
        except OSError:
            raise ChannelError("network", True) from None
        return Delivery(provider_id=str(message.sid))


def init_app(app: Flask) -> None:
    backend = app.config.get("MESSAGING_BACKEND", "console")
    channel: Channel = TwilioChannel(app) if backend == "twilio" else ConsoleChannel()
    app.extensions["grievance.channel"] = channel


def current_channel() -> Channel:
    return current_app.extensions["grievance.channel"]

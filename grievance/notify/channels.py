"""Outbound channels, behind one small interface.

A new messaging service (Messenger, LINE, Viber) is one more class here and
one line in `init_app`; nothing above this module changes. Every adapter
raises `ChannelError` with a short code (never the provider's message, which
may quote the number) and says whether trying again could help.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import requests
from flask import Flask, current_app

# Imported here, not on first use: loaded once with the application, by
# every web and worker process, instead of inside the first message's job.
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.api import Api  # noqa: F401 - the client loads it lazily; preload it

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"

# Twilio error codes that no retry can fix, by the code we record.
PERMANENT_TWILIO_CODES: dict[int, str] = {
    21211: "invalid-number",
    21214: "invalid-number",
    21408: "region-not-enabled",
    21612: "unreachable",
    21614: "not-mobile",
    21610: "unsubscribed",  # the recipient opted out at the provider
    63003: "invalid-number",
    63024: "invalid-number",
}
# WhatsApp: free-form message outside the 24-hour window. Not a failure:
# the message waits for the worker's reply to the template.
WHATSAPP_WINDOW_CODE = 63016


class ChannelError(Exception):
    """Delivery failed. `retryable` tells the job whether to try again;
    `window_closed` that a WhatsApp message must wait for the worker."""

    def __init__(self, code: str, retryable: bool, *, window_closed: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable
        self.window_closed = window_closed


@dataclass(frozen=True)
class Delivery:
    provider_id: str


class Channel(Protocol):
    name: str

    def send(
        self,
        outbox_id: int,
        kind: str,
        recipient: str,
        body: str,
        *,
        content_sid: str | None = None,
    ) -> Delivery:
        """Hand one message to the provider. `kind` is sms, whatsapp or email;
        `content_sid` names a pre-approved WhatsApp template to send instead
        of free text."""
        ...


class ConsoleChannel:
    """Embedded default: nothing leaves the machine.

    The phone simulator reads replies back from the outbox rows (decrypted),
    so it works with any number of web processes; `sent` is only this
    process's record, for tests. The log line names the outbox id only,
    never the recipient or the text.
    """

    name = "console"

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str, str]] = []

    def send(
        self,
        outbox_id: int,
        kind: str,
        recipient: str,
        body: str,
        *,
        content_sid: str | None = None,
    ) -> Delivery:
        self.sent.append((outbox_id, kind, recipient, body))
        log.info("console channel delivered outbox message %s", outbox_id)
        return Delivery(provider_id=f"console-{outbox_id}")


def _quiet_twilio_logger() -> logging.Logger:
    # The twilio library logs every API request at INFO, including the
    # parameters of GET requests; none of that may reach our logs.
    logger = logging.getLogger("twilio.http_client")
    logger.setLevel(logging.WARNING)
    return logger


@dataclass(frozen=True)
class TwilioAccount:
    """The account settings both Twilio parts (messages, media) use."""

    sid: str
    token: str
    api_base: str | None  # TWILIO_API_BASE: the local fake in tests
    timeout: float

    @classmethod
    def from_config(cls, app: Flask) -> TwilioAccount:
        return cls(
            sid=app.config.get("TWILIO_ACCOUNT_SID") or "",
            token=app.config.get("TWILIO_AUTH_TOKEN") or "",
            api_base=app.config.get("TWILIO_API_BASE"),
            timeout=float(app.config.get("TWILIO_TIMEOUT", 10)),
        )


class TwilioChannel:
    """SMS and WhatsApp through Twilio's REST API (a local fake in tests).

    Every request has a timeout, so a hung provider cannot hold a worker,
    and asks Twilio to report delivery to our status webhook.
    """

    name = "twilio"

    def __init__(self, app: Flask) -> None:
        account = TwilioAccount.from_config(app)
        self.sid, self.token, self.timeout = account.sid, account.token, account.timeout
        self.api_base = account.api_base
        self.sms_from = app.config.get("TWILIO_SMS_FROM") or ""
        self.whatsapp_from = app.config.get("TWILIO_WHATSAPP_FROM") or ""
        base = (app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        self.status_callback = base + STATUS_CALLBACK_PATH if base else None
        self.logger = _quiet_twilio_logger()

    def _client(self) -> Any:
        http = TwilioHttpClient(timeout=self.timeout, logger=self.logger)
        client = Client(self.sid, self.token, http_client=http)
        if self.api_base:
            client.api.base_url = self.api_base.rstrip("/")
        return client

    def send(
        self,
        outbox_id: int,
        kind: str,
        recipient: str,
        body: str,
        *,
        content_sid: str | None = None,
    ) -> Delivery:
        if kind == "whatsapp":
            sender, to = f"whatsapp:{self.whatsapp_from}", f"whatsapp:{recipient}"
        else:
            sender, to = self.sms_from, recipient
        params: dict[str, Any] = {"to": to, "from_": sender}
        if content_sid:
            params["content_sid"] = content_sid
        else:
            params["body"] = body
        if self.status_callback:
            params["status_callback"] = self.status_callback
        try:
            message = self._client().messages.create(**params)
        except TwilioRestException as exc:
            raise _classify(exc.status, exc.code) from None
        except TwilioException:
            raise ChannelError("twilio-error", True) from None
        except OSError:  # requests' connection errors and timeouts
            raise ChannelError("network", True) from None
        return Delivery(provider_id=str(message.sid))


class MediaError(Exception):
    """A photo sent by message could not be fetched; `retryable` says whether
    to try again later."""

    def __init__(self, code: str, retryable: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable


class TwilioMedia:
    """Photos and files that came with an inbound message, at Twilio.

    Only addresses of our own account's message media are fetched (a forged
    address could otherwise make the server fetch anything); the media are
    deleted at Twilio once we hold them, so the worker's photo does not stay
    with the provider.
    """

    def __init__(self, app: Flask) -> None:
        account = TwilioAccount.from_config(app)
        self.sid, self.token, self.timeout = account.sid, account.token, account.timeout
        base = (account.api_base or "https://api.twilio.com").rstrip("/")
        self.prefix = f"{base}/2010-04-01/Accounts/{self.sid}/Messages/"

    def allowed(self, url: str) -> bool:
        rest = url[len(self.prefix) :] if url.startswith(self.prefix) else ""
        parts = rest.split("/")
        return (
            bool(self.sid)
            and len(parts) == 3
            and parts[1] == "Media"
            and all(p.isalnum() for p in (parts[0], parts[2]))
        )

    def fetch(self, url: str, max_bytes: int) -> bytes:
        """The file's bytes (at most `max_bytes` + 1, to tell it is too big)."""
        try:
            with requests.get(
                url, auth=(self.sid, self.token), timeout=self.timeout, stream=True
            ) as response:
                if response.status_code == 404:
                    raise MediaError("media-gone", False)
                if response.status_code >= 400:
                    raise MediaError(f"twilio-{response.status_code}", True)
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > max_bytes:
                        break
                return bytes(data)
        except requests.RequestException:
            raise MediaError("network", True) from None

    def delete(self, url: str) -> None:
        """Best effort: a failure leaves the file to Twilio's own retention."""
        try:
            requests.delete(url + ".json", auth=(self.sid, self.token), timeout=self.timeout)
        except requests.RequestException:
            log.info("media not deleted at the provider (network)")


def _classify(status: int, code: int | None) -> ChannelError:
    """Transient (network, 429, 5xx, credentials) or permanent, from Twilio's answer."""
    if code == WHATSAPP_WINDOW_CODE:
        return ChannelError("whatsapp-window", False, window_closed=True)
    if code in PERMANENT_TWILIO_CODES:
        return ChannelError(PERMANENT_TWILIO_CODES[code], False)
    if status == 429 or status >= 500:
        return ChannelError(f"twilio-{status}", True)
    if status in (401, 403):
        # Wrong credentials are fixed by the operator; keep the message.
        return ChannelError(f"twilio-{status}", True)
    return ChannelError(f"twilio-{status}", False)


class EmailChannel:
    """E-mail over SMTP (STARTTLS when configured), with a timeout.

    The outbox body of an e-mail is "subject, blank line, text" (see
    `outbox.queue_email`), so the subject is sealed like the rest.
    """

    name = "smtp"

    def __init__(self, app: Flask) -> None:
        self.host = app.config.get("MAIL_SERVER") or "127.0.0.1"
        self.port = int(app.config.get("MAIL_PORT") or 25)
        self.username = app.config.get("MAIL_USERNAME")
        self.password = app.config.get("MAIL_PASSWORD")
        self.use_tls = bool(app.config.get("MAIL_USE_TLS"))
        self.sender = app.config.get("MAIL_FROM") or "no-reply@localhost"
        self.timeout = float(app.config.get("MAIL_TIMEOUT", 10))

    def send(
        self,
        outbox_id: int,
        kind: str,
        recipient: str,
        body: str,
        *,
        content_sid: str | None = None,
    ) -> Delivery:
        subject, _, text = body.partition("\n\n")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        domain = self.sender.partition("@")[2] or "localhost"
        message["Message-ID"] = f"<outbox-{outbox_id}@{domain}>"
        message.set_content(text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise ChannelError("invalid-address", False) from None
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(f"smtp-{exc.smtp_code}", exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError):
            raise ChannelError("network", True) from None
        return Delivery(provider_id=f"smtp-{outbox_id}")


class ChannelRouter:
    """Picks the adapter for each kind of message (sms, whatsapp, email)."""

    name = "router"

    def __init__(self, by_kind: dict[str, Channel], default: Channel) -> None:
        self.by_kind = by_kind
        self.default = default

    def send(
        self,
        outbox_id: int,
        kind: str,
        recipient: str,
        body: str,
        *,
        content_sid: str | None = None,
    ) -> Delivery:
        channel = self.by_kind.get(kind, self.default)
        if content_sid:
            return channel.send(outbox_id, kind, recipient, body, content_sid=content_sid)
        return channel.send(outbox_id, kind, recipient, body)


def init_app(app: Flask) -> None:
    backend = app.config.get("MESSAGING_BACKEND", "console")
    console = ConsoleChannel()
    by_kind: dict[str, Channel] = {}
    if backend == "twilio":
        twilio = TwilioChannel(app)
        by_kind["sms"] = twilio
        by_kind["whatsapp"] = twilio
    if app.config.get("MAIL_SERVER"):
        by_kind["email"] = EmailChannel(app)
    channel: Channel = ChannelRouter(by_kind, console) if by_kind else console
    app.extensions["grievance.channel"] = channel
    app.extensions["grievance.console"] = console


def current_channel() -> Channel:
    return current_app.extensions["grievance.channel"]

"""Twilio webhook signatures: the token they are checked with, and the check.

Every mode checks signatures, the embedded default included: with
TWILIO_AUTH_TOKEN when it is set, else with a development token generated
once into instance/ (mode 0600), which the phone simulator signs with.
Guarantee: a request without a valid `X-Twilio-Signature` over
PUBLIC_BASE_URL + path and the whole form is refused (fail closed, also
when no token is configured at all).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from twilio.request_validator import RequestValidator

from grievance.instance_files import write_once

DEV_TOKEN_FILE = "twilio_dev_token"  # noqa: S105 - a file name, not the token
_EXTENSION = "grievance.twilio_signing_token"


def _development_token(instance: Path) -> str:
    return write_once(instance / DEV_TOKEN_FILE, secrets.token_hex(32)).strip()


def init_app(app: Flask) -> None:
    token = app.config.get("TWILIO_AUTH_TOKEN")
    if not token and app.config.get("EMBEDDED") and not app.config.get("TESTING"):
        token = _development_token(Path(app.instance_path))
    app.extensions[_EXTENSION] = token or None


def signing_token() -> str | None:
    return current_app.extensions.get(_EXTENSION)


def public_url(path: str, query: str = "") -> str:
    """The URL Twilio was told to call, as it signs it."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + path + (f"?{query}" if query else "")


def sign(url: str, params: Mapping[str, Any]) -> str:
    """The signature Twilio would send (the simulator and tests use this)."""
    token = signing_token()
    if not token:
        raise RuntimeError("no Twilio signing token is configured")
    return RequestValidator(token).compute_signature(url, params)


def request_is_signed() -> bool:
    """Does the current request carry a valid Twilio signature?"""
    token = signing_token()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = public_url(request.path, request.query_string.decode("latin-1"))
    return bool(RequestValidator(token).validate(url, request.form, signature))

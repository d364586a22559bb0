"""Provider callbacks for outbound messages (delivery status)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notify", __name__)

"""Flask's signed session cookie, with its serializer made once.

Flask builds a new serializer for the cookie each time it reads or writes
one: twice on many requests. Building it is not free (itsdangerous checks
what its JSON serializer returns by running it): about 1 % of a report's
instructions. The serializer holds nothing of a request, so one made per
secret key (and fallback keys) serves them all; a key changed in the
config gets its own.
"""

from __future__ import annotations

import threading

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

# Keys in use at once: the current one; more only while tests change it.
_KEPT_AT_MOST = 8


class SessionCookie(SecureCookieSessionInterface):
    """Flask's cookie session, its signing serializer made once per key."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer] = {}
        self._lock = threading.Lock()

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is None:
                return None
            with self._lock:
                if len(self._serializers) >= _KEPT_AT_MOST:
                    self._serializers.clear()
                self._serializers[key] = serializer
        return serializer

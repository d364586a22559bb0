"""Flask's signed session cookie, with its serializer made once.

Flask builds a new serializer for the cookie each time it reads or writes
one: twice on many requests. Building it is not free (itsdangerous checks
what its JSON serializer returns by running it): about 1 % of a report's
instructions. The serializer holds nothing of a request, so one made per
secret key (and fallback keys) serves them all; a key changed in the
config gets its own. It signs as Flask's does, with OpenSSL's HMAC and its
key derived once (`grievance.signing`): a cookie signed by either is
accepted by the other.

A session emptied by the request (the report form's, once the report is
stored) has its cookie deleted: the same header every time for the same
cookie settings, which werkzeug writes anew each time (the expiry date
formatted, every attribute checked): about 2 % of a report's time. It is
written once per settings and kept.
"""

from __future__ import annotations

import threading

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response
from itsdangerous import URLSafeTimedSerializer
from werkzeug.http import dump_cookie

from grievance.signing import KeptKeySigner

# Keys in use at once: the current one; more only while tests change it.
_KEPT_AT_MOST = 8


class SessionCookie(SecureCookieSessionInterface):
    """Flask's cookie session, its signing serializer made once per key."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer] = {}
        self._deletions: dict[tuple[object, ...], str] = {}
        self._lock = threading.Lock()

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        key = (app.secret_key, *fallbacks)
        serializer = self._serializers.get(key)
        if serializer is None:
            # As Flask's own: the current key last, the one it signs with.
            serializer = URLSafeTimedSerializer(
                [*fallbacks, app.secret_key],
                salt=self.salt,
                serializer=self.serializer,
                signer=KeptKeySigner,
                signer_kwargs={"key_derivation": self.key_derivation},
            )
            with self._lock:
                if len(self._serializers) >= _KEPT_AT_MOST:
                    self._serializers.clear()
                self._serializers[key] = serializer
        return serializer

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if session or not session.modified:
            super().save_session(app, session, response)
            return
        # Emptied by this request: the cookie is deleted, with the header
        # werkzeug's `delete_cookie` writes for these settings.
        settings = (
            self.get_cookie_name(app),
            self.get_cookie_domain(app),
            self.get_cookie_path(app),
            self.get_cookie_secure(app),
            self.get_cookie_httponly(app),
            self.get_cookie_samesite(app),
            self.get_cookie_partitioned(app),
            response.max_cookie_size,
        )
        header = self._deletions.get(settings)
        if header is None:
            name, domain, path, secure, httponly, samesite, partitioned, max_size = settings
            header = dump_cookie(
                name,
                expires=0,
                max_age=0,
                path=path,
                domain=domain,
                secure=secure,
                httponly=httponly,
                samesite=samesite,
                partitioned=partitioned,
                max_size=max_size,
            )
            with self._lock:
                if len(self._deletions) >= _KEPT_AT_MOST:
                    self._deletions.clear()
                self._deletions[settings] = header
        response.headers.add("Set-Cookie", header)
        response.vary.add("Cookie")

"""Flask-WTF's CSRF tokens, made and checked with a serializer made once.

Flask-WTF builds a new serializer (and so derives its signing key again)
for every token it makes or checks, and checks it with HMAC in Python
(`grievance.signing` says why). Here the tokens are the same (a token made
by either is accepted by the other), as are the rules: the token comes from
the form or a header, it must match the one in the session, it expires
after `WTF_CSRF_TIME_LIMIT`, and over HTTPS the referrer must be this site.
Only the serializer differs: `signing.csrf_serializer`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFProtect, same_origin
from itsdangerous import BadData, SignatureExpired
from wtforms import ValidationError

from grievance.signing import csrf_serializer

log = logging.getLogger(__name__)


def _secret_key(secret_key: str | bytes | None) -> str | bytes:
    key = secret_key or current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    if not key:
        raise RuntimeError("A secret key is required to use CSRF.")
    return key


def _field_name(token_key: str | None) -> str:
    return token_key or current_app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"


def make_token(secret_key: str | bytes | None = None, token_key: str | None = None) -> str:
    """The request's signed token, as `flask_wtf.csrf.generate_csrf` gives
    it: signed once a request, for a random value kept in the session."""
    field = _field_name(token_key)
    if field not in g:
        serializer = csrf_serializer(_secret_key(secret_key))
        try:
            token = serializer.dumps(session[field])
        except (KeyError, TypeError):
            # None yet (or not one that can be signed): a new random value.
            session[field] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - a random value, as Flask-WTF makes it
            token = serializer.dumps(session[field])
        setattr(g, field, token)
    return str(g.get(field))


def check_token(
    data: str | None,
    secret_key: str | bytes | None = None,
    time_limit: int | None = None,
    token_key: str | None = None,
) -> None:
    """Raise ValidationError unless `data` is a valid token for this session
    (what `flask_wtf.csrf.validate_csrf` checks, with its messages)."""
    field = _field_name(token_key)
    if time_limit is None:
        time_limit = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
    if not data:
        raise ValidationError("The CSRF token is missing.")
    if field not in session:
        raise ValidationError("The CSRF session token is missing.")
    try:
        token = csrf_serializer(_secret_key(secret_key)).loads(data, max_age=time_limit)
    except SignatureExpired as error:
        raise ValidationError("The CSRF token has expired.") from error
    except BadData as error:
        raise ValidationError("The CSRF token is invalid.") from error
    if not isinstance(token, str) or not hmac.compare_digest(session[field], token):
        raise ValidationError("The CSRF tokens do not match.")


class CSRFProtection(CSRFProtect):  # type: ignore[misc]
    """Flask-WTF's CSRFProtect, checking the token with `check_token`."""

    def protect(self, apply_exemptions: bool = False) -> None:
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        try:
            check_token(self._get_csrf_token())
        except ValidationError as error:
            log.info(error.args[0])
            self._error_response(error.args[0])
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            referrer = request.referrer
            if not referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True

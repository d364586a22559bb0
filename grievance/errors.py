"""Error pages: translated, never echoing input, rolling back on 500.

Error pages use the worker catalog, which every language has: the language
comes from the URL prefix when it names one, else from the browser.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from grievance import i18n
from grievance.extensions import db
from grievance.i18n import lazy_gettext as _l

log = logging.getLogger(__name__)

MESSAGES: dict[int, tuple[Any, Any]] = {
    400: (
        _l("Something was wrong with the request"),
        _l("Please go back, check what you entered, and try again."),
    ),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist. Check the address.")),
    405: (_l("Not allowed"), _l("This page cannot be used in this way.")),
    413: (_l("Too large"), _l("What you sent is too large. Send smaller files or fewer files.")),
    429: (_l("Too many tries"), _l("Please wait a few minutes, then try again.")),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing you did caused this. Please try again in a few minutes."),
    ),
}


def _error_language() -> i18n.Language:
    parts = request.path.strip("/").split("/", 1)
    lang = i18n.BY_CODE.get(parts[0]) if parts and parts[0] else None
    if lang is not None:
        return lang
    if request.path.startswith(("/staff", "/advisor", "/admin")):
        return i18n.BY_CODE[i18n.staff_language()]
    codes = [language.code for language in i18n.LANGUAGES]
    return i18n.BY_CODE[i18n.negotiate(codes, i18n.DEFAULT_WORKER_LANGUAGE)]


def render_error(code: int) -> tuple[str, int]:
    i18n.set_language(_error_language().code)
    i18n.worker_domain.as_default()
    title, text = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title, text=text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        if code not in MESSAGES:
            code = 500 if code >= 500 else 400
        response = render_error(code)
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            return response[0], code, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        return render_error(400)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        # Roll back first: the failed unit of work must leave nothing behind.
        db.session.rollback()
        # The exception type only: messages may quote personal data.
        # The type and the code path only: exception messages (database
        # errors quote their parameters) may carry personal data.
        log.error(
            "unhandled %s on %s %s\n%s",
            type(exc).__name__,
            request.method,
            request.url_rule.rule if request.url_rule else "?",
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return render_error(InternalServerError.code)

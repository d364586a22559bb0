"""Security headers on every response.

The CSP allows no inline script or style, so an injected tag cannot run;
`frame-ancestors 'none'` stops click-jacking; `no-referrer` keeps our URLs out
of other sites' logs. Every page except static files is `no-store`: phones
are shared, and a case page must not stay in a browser's cache or history.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    hsts = bool(app.config.get("HSTS"))

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["Content-Security-Policy"] = CSP
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["X-Frame-Options"] = "DENY"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        if hsts:
            h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response

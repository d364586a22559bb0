"""Configuration read from the environment.

Three classes: development (the embedded default), testing and production.
Production fails fast: `ProductionConfig.check()` names every missing secret in
one line, so a half-configured server never starts and never runs with a
guessable key.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("GRIEVANCE_INSTANCE_DIR", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """A required setting is missing; the message names it."""


def _template_sids(value: str) -> dict[str, str]:
    """WhatsApp Content SIDs by language: "vi=HX1,en=HX2" -> {"vi": "HX1", "en": "HX2"}."""
    pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
    return {code.strip(): sid.strip() for code, sid in pairs if code.strip() and sid.strip()}


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    EMBEDDED = False  # True: SQLite, in-process jobs, console channel, /dev/phone

    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    # No pool_pre_ping: connections that sat idle are pinged (grievance.pool_ping).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL: str | None = os.environ.get("REDIS_URL")
    GRIEVANCE_KEYS_FILE: str | None = os.environ.get("GRIEVANCE_KEYS_FILE")
    # Keys may also come as one JSON document in the environment (secret stores).
    GRIEVANCE_KEYS: str | None = os.environ.get("GRIEVANCE_KEYS")
    PUBLIC_BASE_URL: str = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    MESSAGING_BACKEND: str = os.environ.get("MESSAGING_BACKEND", "console")
    TWILIO_ACCOUNT_SID: str | None = os.environ.get("TWILIO_ACCOUNT_SID")
    TWILIO_AUTH_TOKEN: str | None = os.environ.get("TWILIO_AUTH_TOKEN")
    TWILIO_SMS_FROM: str | None = os.environ.get("TWILIO_SMS_FROM")
    TWILIO_WHATSAPP_FROM: str | None = os.environ.get("TWILIO_WHATSAPP_FROM")
    TWILIO_API_BASE: str | None = os.environ.get("TWILIO_API_BASE")  # a local fake in tests
    TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))  # seconds per API call
    # Pre-approved WhatsApp templates that invite a reply outside the 24-hour
    # window: TWILIO_WHATSAPP_TEMPLATES="vi=HX...,id=HX...,en=HX..." (en is the fallback).
    WHATSAPP_TEMPLATE_SIDS: dict[str, str] = _template_sids(
        os.environ.get("TWILIO_WHATSAPP_TEMPLATES", "")
    )
    WHATSAPP_WINDOW_SECONDS = 24 * 3600
    WHATSAPP_WINDOW_MARGIN_SECONDS = 600
    # A worker who wrote in the last 15 minutes is holding the phone: replies
    # may go out even outside the hours they allowed.
    RECENT_INBOUND_SECONDS = 15 * 60
    SMS_MAX_SEGMENTS = int(os.environ.get("SMS_MAX_SEGMENTS", "4"))
    # An SMS/WhatsApp intake left unanswered this long becomes a case with
    # what was said so far.
    CONVERSATION_TIMEOUT_SECONDS = int(os.environ.get("CONVERSATION_TIMEOUT_SECONDS", "7200"))
    DEV_PHONE = False  # the phone simulator at /dev/phone (embedded default only)

    MAIL_SERVER: str | None = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME: str | None = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD: str | None = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_FROM: str | None = os.environ.get("MAIL_FROM")
    MAIL_TIMEOUT = 10.0

    JOB_RUNNER = "inprocess"  # or "rq"
    JOB_FAILURE_TTL = 7 * 24 * 3600
    OUTBOX_STALE_SECONDS = 60
    OUTBOX_SWEEP_SECONDS = 60  # the worker's sweeper runs this often
    OUTBOX_MAX_ATTEMPTS = 8

    # Flask-Babel: translations live at the repository root, not in the package.
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"

    MAX_CONTENT_LENGTH = 55 * 1024 * 1024  # 5 attachments x 10 MB plus the form
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token instead
    # Over HTTPS Flask-WTF would also demand a same-site Referer header, which
    # browsers never send under our `Referrer-Policy: no-referrer`: every form
    # would fail in production. The session-bound token and SameSite=Strict
    # cookies are the CSRF defence.
    WTF_CSRF_SSL_STRICT = False

    SESSION_COOKIE_NAME = "gs"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_DURATION = timedelta(0)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    STAFF_IDLE_TIMEOUT = timedelta(minutes=30)
    STAFF_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    STAFF_MAX_FAILED_LOGINS = 5
    STAFF_LOCKOUT = timedelta(minutes=15)

    RETENTION_DAYS = int(os.environ.get("GRIEVANCE_RETENTION_DAYS", "730"))
    # Reports: a computed report is reused by a web process for this long;
    # the roll-up behind every report is recomputed this often.
    REPORTS_CACHE_SECONDS = float(os.environ.get("REPORTS_CACHE_SECONDS", "60"))
    REPORTS_ROLLUP_SECONDS = float(os.environ.get("REPORTS_ROLLUP_SECONDS", "300"))
    HSTS = False
    ALLOW_DEMO_CODES = False
    SEED_DEMO_ALLOWED = True

    @classmethod
    def check(cls) -> None:
        """Raise ConfigError when this environment cannot run safely."""


class DevelopmentConfig(Config):
    """The embedded default: one machine, no outside services."""

    ENV_NAME = "development"
    EMBEDDED = True
    SECRET_KEY = os.environ.get("SECRET_KEY")  # generated into instance/ when unset
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'grievance.sqlite3'}"
    )
    GRIEVANCE_KEYS_FILE = os.environ.get("GRIEVANCE_KEYS_FILE", str(INSTANCE_DIR / "keys.json"))
    JOB_RUNNER = os.environ.get("JOB_RUNNER", "inprocess")
    # Local development is served over plain http on 127.0.0.1.
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    ALLOW_DEMO_CODES = True
    DEV_PHONE = True


class TestingConfig(Config):
    """Fast, isolated settings for pytest; every test gets its own database."""

    ENV_NAME = "testing"
    EMBEDDED = True
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    GRIEVANCE_KEYS_FILE = None
    GRIEVANCE_KEYS = None
    PUBLIC_BASE_URL = "http://localhost"
    MESSAGING_BACKEND = "console"
    # Webhook signatures are checked in tests too, with this fixed token.
    TWILIO_AUTH_TOKEN = "testing-twilio-auth-token"  # noqa: S105 - tests only
    WHATSAPP_TEMPLATE_SIDS: dict[str, str] = {}
    MAIL_SERVER = None
    SESSION_COOKIE_SECURE = False
    ALLOW_DEMO_CODES = True
    # Cheap argon2 parameters keep the suite fast; production uses the defaults.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    # Every report straight from the cases, so a test sees what it just wrote.
    REPORTS_CACHE_SECONDS = 0.0
    REPORTS_ROLLUP_SECONDS = 0.0


class ProductionConfig(Config):
    """Several stateless web and worker processes behind a TLS proxy."""

    ENV_NAME = "production"
    JOB_RUNNER = "rq"
    HSTS = True
    # Number of proxies in front of gunicorn whose X-Forwarded-* to trust.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "1"))
    SEED_DEMO_ALLOWED = False
    MESSAGING_BACKEND = os.environ.get("MESSAGING_BACKEND", "twilio")

    @classmethod
    def check(cls) -> None:
        missing = []
        if not cls.SECRET_KEY:
            missing.append("SECRET_KEY")
        if not (cls.GRIEVANCE_KEYS_FILE or cls.GRIEVANCE_KEYS):
            missing.append("GRIEVANCE_KEYS_FILE (or GRIEVANCE_KEYS)")
        if not cls.SQLALCHEMY_DATABASE_URI:
            missing.append("DATABASE_URL")
        if not cls.REDIS_URL:
            missing.append("REDIS_URL")
        if cls.MESSAGING_BACKEND == "twilio" and not cls.TWILIO_AUTH_TOKEN:
            missing.append("TWILIO_AUTH_TOKEN")
        if missing:
            raise ConfigError("production configuration is missing: " + ", ".join(missing))


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The config class for `name`, or for GRIEVANCE_ENV (default development)."""
    name = name or os.environ.get("GRIEVANCE_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"GRIEVANCE_ENV must be one of {', '.join(CONFIGS)}, not {name!r}"
        ) from None

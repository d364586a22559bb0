"""Leak scans: plant canaries in a full run, then find none of them anywhere.

A worker files web reports (narrative, employer and broker names, a phone
number, an e-mail address; the client address comes through
X-Forwarded-For), opens the follow-up page and writes there, texts in
through the signed Twilio webhook (with the location and profile metadata
Twilio adds), a caseworker logs in and replies, and the messages are
delivered: by an RQ worker process in production, in-process in the
embedded default. Then every place a copy could hide is read:

* the database: a `pg_dump` (bytea columns decoded), or the SQLite file
  with its -wal and -shm files;
* all log output: gunicorn's, the worker's, and the application's own at
  DEBUG (a `sitecustomize` module on the children's PYTHONPATH sends every
  log record to their captured output), plus this process's;
* every Redis key and value of every type, RQ job payloads decompressed;
* every response's URL and headers, cookies decoded (Flask's session
  cookie is signed, not encrypted).

Canaries are looked for as typed, normalised, lower-cased, percent-encoded
and base64-encoded; the client address also as the unkeyed hashes a
library might keep of it. Each run plants fresh canaries.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import signal
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import pyotp
import pytest
import requests
from flask import Flask
from redis import Redis
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from config import TestingConfig
from grievance import create_app, crypto
from grievance.cases.models import Case, Message
from grievance.extensions import commit, db
from grievance.notify.models import OutboundMessage, OutboxStatus
from grievance.seed.taxonomy import load_partners, load_taxonomy
from tests.conftest import PASSWORD, make_staff
from tests.integration.conftest import PG_URL, REDIS_URL
from tests.integration.processes import (
    GUNICORN,
    Processes,
    child_env,
    free_port,
    redis_dump,
    wait_until,
    worker_args,
)

KEYS = crypto.KeyRing.generate().to_document()
USER_AGENT = "Mozilla/5.0 (Linux; Android 9; leak-scan) Mobile"
SITECUSTOMIZE = """
import logging
import sys

# Every log record of every library, at every level, to the captured output.
logging.basicConfig(
    level=logging.DEBUG,
    stream=sys.stderr,
    format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
)
# The one exception: SQLAlchemy would echo every statement at this level.
logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
"""


# -- canaries --------------------------------------------------------------------------


@dataclass(frozen=True)
class Canaries:
    """Unique, recognisable values, planted once per run."""

    token: str = field(default_factory=lambda: secrets.token_hex(4))
    ip_last: int = field(default_factory=lambda: secrets.randbelow(250) + 2)
    # A mobile number: 090 and eight digits, the first not a zero.
    digits: str = field(
        default_factory=lambda: f"{secrets.randbelow(9) + 1}{secrets.randbelow(10**7):07d}"
    )

    @property
    def narrative(self) -> str:
        return f"Chủ công ty giữ hộ chiếu của tôi và không trả lương. narrative{self.token}"

    @property
    def narrative_email(self) -> str:
        return f"Tôi bị đánh ở ký túc xá. secondnarrative{self.token}"

    @property
    def employer(self) -> str:
        return f"Employername{self.token} Seisakusho KK"

    @property
    def broker(self) -> str:
        return f"Brokername{self.token} Manpower"

    @property
    def phone_typed(self) -> str:
        return f"090-{self.digits[:4]}-{self.digits[4:]}"

    @property
    def phone(self) -> str:
        return f"+8190{self.digits}"

    @property
    def email(self) -> str:
        return f"mail.{self.token}@example.net"

    @property
    def ip(self) -> str:
        return f"198.51.100.{self.ip_last}"

    @property
    def follow_up(self) -> str:
        return f"Hôm nay họ lại đe dọa tôi. followup{self.token}"

    @property
    def sms(self) -> str:
        return f"Tôi vẫn chưa được trả lương. smsbody{self.token}"

    @property
    def reply(self) -> str:
        return f"Chúng tôi sẽ gọi cho bạn vào ngày mai. staffreply{self.token}"

    @property
    def profile_name(self) -> str:
        return f"Profilename{self.token}"

    @property
    def city(self) -> str:
        return f"Cityname{self.token}"

    def plain(self) -> dict[str, str]:
        """Each canary by name, as the distinctive text to look for."""
        return {
            "narrative": f"narrative{self.token}",
            "second narrative": f"secondnarrative{self.token}",
            "employer name": f"Employername{self.token}",
            "broker name": f"Brokername{self.token}",
            "phone number": f"90{self.digits}",
            "phone number as typed": self.phone_typed,
            "e-mail address": self.email,
            "follow-up message": f"followup{self.token}",
            "SMS text": f"smsbody{self.token}",
            "caseworker's reply": f"staffreply{self.token}",
            "profile name from Twilio": self.profile_name,
            "city from Twilio": self.city,
            "client IP address": self.ip,
        }

    def needles(self) -> dict[bytes, str]:
        """Every form a canary could take, mapped to what it reveals."""
        found: dict[bytes, str] = {}
        for name, text in self.plain().items():
            raw = text.encode()
            forms = {raw, raw.lower(), quote(text, safe="").encode(), *base64_forms(raw)}
            for form in forms:
                found[form] = name
        for digest in ip_hashes(self.ip):
            found[digest] = "client IP address (unkeyed hash)"
        return found


def base64_forms(raw: bytes) -> set[bytes]:
    """The base64 text of `raw` at each of the three alignments it can start
    at inside a longer value (standard and URL-safe alphabets)."""
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw)
        # Only the characters made wholly of `raw`'s bits.
        core = encoded[-(-4 * offset // 3) : (4 * (offset + len(raw))) // 3]
        forms.add(core)
        forms.add(core.replace(b"+", b"-").replace(b"/", b"_"))
    return forms


def ip_hashes(ip: str) -> set[bytes]:
    """Unkeyed digests of the address, which anyone can reverse by trying
    all 2^32 IPv4 addresses: the plain digests, and Flask-Login's session
    identifier (SHA-512 of "address|user agent", each written as a Python
    bytes literal)."""
    values = [
        ip.encode(),
        f"{ip}|{USER_AGENT}".encode(),
        f"{ip.encode()!r}|{USER_AGENT.encode()!r}".encode(),
    ]
    return {
        hashlib.new(algorithm, value).hexdigest().encode()
        for algorithm in ("md5", "sha1", "sha256", "sha512")
        for value in values
    }


def findings(haystack: bytes, needles: dict[bytes, str], where: str) -> list[str]:
    lowered = haystack.lower()
    found = []
    for needle, name in needles.items():
        for text in (haystack, lowered):
            at = text.find(needle)
            if at >= 0:
                context = haystack[max(at - 60, 0) : at + len(needle) + 60]
                found.append(f"{name} in {where}: ...{context!r}...")
                break
    return found


def scan(haystacks: dict[str, bytes], canaries: Canaries) -> list[str]:
    needles = canaries.needles()
    return [hit for where, data in haystacks.items() for hit in findings(data, needles, where)]


# -- an HTTP client that keeps every answer ----------------------------------------------


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    headers: list[tuple[str, str]]


class Browser:
    """Speaks HTTP to gunicorn as a browser behind the TLS proxy would.

    Cookies are kept here rather than by `requests`, which would withhold
    the production session cookie (Secure) on plain HTTP; every answer is
    recorded for the scan.
    """

    def __init__(self, base: str, forwarded_for: str, log: list[Exchange]) -> None:
        self.base = base
        self.forwarded_for = forwarded_for
        self.log = log
        self.cookies: dict[str, str] = {}

    def _remember(self, response: requests.Response) -> None:
        for header in response.raw.headers.getlist("Set-Cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                gone = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if gone or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        url = self.base + path
        while True:
            sent = {
                "User-Agent": USER_AGENT,
                "X-Forwarded-For": self.forwarded_for,
                "X-Forwarded-Proto": "https",
                "Accept-Language": "vi",
                **(headers or {}),
            }
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            response = requests.request(
                method, url, data=data, headers=sent, allow_redirects=False, timeout=60
            )
            self.log.append(
                Exchange(method, url, response.status_code, list(response.raw.headers.items()))
            )
            self._remember(response)
            if response.status_code not in (301, 302, 303):
                return response
            # Follow the redirect on this server, whatever scheme it names.
            target = urlsplit(urljoin(url, response.headers["Location"]))
            url = self.base + target.path + (f"?{target.query}" if target.query else "")
            method, data = "GET", None

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, Any], **kw: Any) -> requests.Response:
        return self.request("POST", path, data, **kw)


def csrf(html: str, prefix: str = "") -> str:
    match = re.search(rf'name="{re.escape(prefix)}csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no {prefix}csrf_token on the page"
    return match.group(1)


def decoded_cookie(value: str) -> bytes:
    """The payload of an itsdangerous-signed value (Flask's session cookie):
    base64url, zlib-compressed when it starts with a dot."""
    value = unquote(value).strip('"')
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    try:
        data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return zlib.decompress(data) if compressed else data
    except (ValueError, zlib.error):
        return b""


def exchanges_haystacks(exchanges: list[Exchange]) -> dict[str, bytes]:
    """Every URL and header, and every cookie's decoded payload too."""
    urls, headers, cookies = [], [], []
    for exchange in exchanges:
        urls += [exchange.url, unquote(exchange.url)]
        for name, value in exchange.headers:
            headers.append(f"{name}: {value}")
            if name.lower() == "set-cookie":
                jar: SimpleCookie = SimpleCookie()
                jar.load(value)
                cookies += [decoded_cookie(m.value) for m in jar.values()]
    return {
        "response URLs": "\n".join(urls).encode(),
        "response headers": "\n".join(headers).encode(),
        "decoded cookies": b"\n".join(cookies),
    }


# -- the scenario ------------------------------------------------------------------------


@dataclass
class Run:
    base: str
    twilio_token: str
    staff_email: str
    staff_secret: str
    exchanges: list[Exchange] = field(default_factory=list)
    reference: str = ""
    pages: dict[str, str] = field(default_factory=dict)


def file_report(worker: Browser, canaries: Canaries, method: str) -> tuple[str, str]:
    page = worker.get("/vi/report")
    assert page.status_code == 200
    form = worker.post("/vi/report", {"csrf_token": csrf(page.text), "danger": "no"})
    assert form.status_code == 200
    fields: dict[str, Any] = {
        "csrf_token": csrf(form.text),
        "danger": "no",
        "narrative": canaries.narrative if method == "sms" else canaries.narrative_email,
        "categories": ["WAGE_UNPAID", "DOC_RETAIN"],
        "prefecture": "23",
        "employer": canaries.employer,
        "broker": canaries.broker,
        "contact_method": method,
        # Both given each time: the one not chosen must be dropped unseen.
        "phone": canaries.phone_typed,
        "email": canaries.email,
        "own_phone": "own",
        "consent_store": "y",
    }
    receipt = worker.post("/vi/report", fields)
    assert receipt.status_code == 200, receipt.status_code
    codes = re.findall(r"<code>([^<]+)</code>", receipt.text)
    assert len(codes) == 2, "no receipt"
    return codes[0], codes[1]


def twilio_post(run: Run, path: str, params: dict[str, str]) -> requests.Response:
    signature = RequestValidator(run.twilio_token).compute_signature(run.base + path, params)
    twilio = Browser(run.base, "54.172.60.1", run.exchanges)
    return twilio.post(path, params, headers={"X-Twilio-Signature": signature})


def inbound_sms(run: Run, canaries: Canaries, body: str, n: int) -> None:
    params = {
        "MessageSid": f"SM{canaries.token}{n:024x}",
        "SmsSid": f"SM{canaries.token}{n:024x}",
        "AccountSid": "AC" + "5" * 32,
        "From": canaries.phone,
        "To": "+815011112222",
        "Body": body,
        "NumMedia": "0",
        "FromCity": canaries.city,
        "FromState": "AICHI",
        "FromZip": f"4{canaries.digits[:6]}",
        "FromCountry": "JP",
        "ProfileName": canaries.profile_name,
    }
    response = twilio_post(run, "/webhooks/twilio/messages", params)
    assert response.status_code == 200, response.status_code


def worker_part(run: Run, canaries: Canaries) -> None:
    worker = Browser(run.base, canaries.ip, run.exchanges)
    assert worker.get("/").status_code == 200
    reference, secret = file_report(worker, canaries, "sms")
    file_report(worker, canaries, "email")
    run.reference = reference

    login = worker.get("/vi/follow-up")
    page = worker.post(
        "/vi/follow-up",
        {"csrf_token": csrf(login.text), "reference": reference, "secret": secret},
    )
    # The case page (it shows the reference, never the narrative).
    assert page.status_code == 200 and f"<code>{reference}</code>" in page.text
    page = worker.post(
        "/vi/follow-up/reply", {"csrf_token": csrf(page.text), "body": canaries.follow_up}
    )
    assert page.status_code == 200 and canaries.follow_up in page.text
    left = worker.post("/vi/follow-up/leave", {"csrf_token": csrf(page.text)})
    assert left.status_code == 200

    inbound_sms(run, canaries, canaries.sms, 1)
    inbound_sms(run, canaries, f"{canaries.sms} (2)", 2)


def caseworker_part(run: Run, canaries: Canaries) -> None:
    staff = Browser(run.base, canaries.ip, run.exchanges)
    login = staff.get("/staff/login")
    code_page = staff.post(
        "/staff/login",
        {"csrf_token": csrf(login.text), "email": run.staff_email, "password": PASSWORD},
    )
    assert code_page.status_code == 200 and "/staff/2fa" in code_page.url
    queue = staff.post(
        "/staff/2fa",
        {"csrf_token": csrf(code_page.text), "code": pyotp.TOTP(run.staff_secret).now()},
    )
    assert queue.status_code == 200 and "/staff/queue" in queue.url
    shown: list[Any] = []

    def everything_shown() -> bool:
        # The SMS are handled by the worker process, maybe still running.
        shown[:] = [staff.get(f"/staff/cases/{run.reference}")]
        return shown[0].status_code == 200 and all(
            text in shown[0].text
            for text in (canaries.narrative, canaries.employer, canaries.follow_up, canaries.sms)
        )

    wait_until(everything_shown, 30, "the case page to show what the worker sent", interval=0.2)
    case = shown[0]
    case = staff.post(
        f"/staff/cases/{run.reference}/reply",
        {"reply-csrf_token": csrf(case.text, "reply-"), "reply-body": canaries.reply},
    )
    assert case.status_code == 200 and canaries.reply in case.text
    run.pages["case"] = case.text


def delivery_callback(run: Run, canaries: Canaries, provider_id: str) -> None:
    params = {
        "MessageSid": provider_id,
        "MessageStatus": "delivered",
        "AccountSid": "AC" + "5" * 32,
        "From": "+815011112222",
        "To": canaries.phone,
        "ApiVersion": "2010-04-01",
    }
    assert twilio_post(run, "/webhooks/twilio/status", params).status_code == 204


def delivered(app: Flask) -> list[OutboundMessage]:
    """The outbox once nothing is pending any more (fails after a minute)."""
    rows: list[OutboundMessage] = []

    def settled() -> bool:
        nonlocal rows
        with app.app_context():
            rows = list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
            db.session.expunge_all()
        return bool(rows) and all(r.status != OutboxStatus.PENDING for r in rows)

    wait_until(settled, 60, "the outbox to be delivered", interval=0.2)
    return rows


def check_the_run_happened(app: Flask, canaries: Canaries, rows: list[OutboundMessage]) -> None:
    """The scan proves nothing unless the canaries really went through."""
    # Two acknowledgements, the reply, and what the SMS dialog answered.
    assert len(rows) >= 3 and {r.status for r in rows} <= {"sent", "delivered"}
    assert {r.channel for r in rows} >= {"sms", "email"}
    with app.app_context():
        narratives = {c.narrative for c in db.session.scalars(select(Case))}
        assert narratives == {canaries.narrative, canaries.narrative_email}
        bodies = {m.body for m in db.session.scalars(select(Message))}
        assert {canaries.follow_up, canaries.sms, canaries.reply} <= bodies


def gunicorn_args(port: int) -> list[str]:
    return [
        GUNICORN,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "2",
        "--config",
        "gunicorn.conf.py",
        "wsgi:app",
    ]


def start_gunicorn(
    processes: Processes, port: int, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    base = f"http://127.0.0.1:{port}"
    server = processes.start("gunicorn", gunicorn_args(port), env)

    def answers() -> bool:
        assert server.poll() is None, processes.output()[-3000:].decode(errors="replace")
        try:
            return requests.get(base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(answers, 90, "gunicorn to answer", interval=0.2)
    return server, base


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(logs)
    yield procs
    procs.close()


@pytest.fixture
def log_setup(tmp_path: Path) -> str:
    """A directory for the children's PYTHONPATH holding the logging setup."""
    path = tmp_path / "site"
    path.mkdir()
    (path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return str(path)


def assert_clean(haystacks: dict[str, bytes], canaries: Canaries, run: Run) -> None:
    # The scan itself works: it finds the canaries where they belong (the
    # caseworker's page), and the cookies it reads were decoded.
    assert len(scan({"the case page": run.pages["case"].encode()}, canaries)) >= 6
    assert b"csrf_token" in haystacks["decoded cookies"]
    leaks = scan(haystacks, canaries)
    assert not leaks, "canaries found:\n" + "\n".join(leaks)


# -- production: gunicorn, PostgreSQL, Redis, an RQ worker -----------------------------------


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "GRIEVANCE_KEYS": json.dumps(KEYS),
    }


def pg_dump() -> bytes:
    """A plain-SQL dump, with every bytea value also decoded to its bytes."""
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "--dbname", PG_URL.replace("+psycopg", "")],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    assert b"COPY public.cases" in dump
    decoded = [bytes.fromhex(h.decode()) for h in re.findall(rb"\\\\x((?:[0-9a-f]{2})+)", dump)]
    assert decoded, "no bytea values in the dump?"
    return dump + b"\n" + b"\n".join(decoded)


def test_no_canary_leaks_from_a_production_run(
    app: Flask,
    redis_conn: Redis,
    processes: Processes,
    log_setup: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    canaries = Canaries()
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(KEYS))
    keys_file.chmod(0o600)
    with app.app_context():
        user, totp_secret = make_staff("caseworker", email=f"cw-{canaries.token}@example.org")
        staff_email = user.email

    port = free_port()
    twilio_token = secrets.token_hex(16)
    env = child_env(
        GRIEVANCE_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(32),
        GRIEVANCE_KEYS_FILE=str(keys_file),
        DATABASE_URL=PG_URL,
        REDIS_URL=REDIS_URL,
        MESSAGING_BACKEND="console",
        TWILIO_AUTH_TOKEN=twilio_token,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=log_setup,
    )
    worker = processes.start("worker", worker_args(burst=False), env)
    _, base = start_gunicorn(processes, port, env)
    run = Run(base, twilio_token, staff_email, totp_secret)

    worker_part(run, canaries)
    caseworker_part(run, canaries)
    rows = delivered(app)
    reply = next(r for r in rows if r.purpose == "reply" and r.channel == "sms")
    delivery_callback(run, canaries, reply.provider_id or "")
    check_the_run_happened(app, canaries, rows)
    redis_while_running = b"\n".join(redis_dump(redis_conn))
    assert b"rq:job:" in redis_while_running

    # Stop the worker as an operator would, so it writes its last lines.
    assert processes.kill(worker, signal.SIGTERM) == 0
    logs = processes.output()
    assert b"console channel delivered outbox message" in logs, "no application log captured"
    assert b"Booting worker" in logs and b"Job OK" in logs

    assert_clean(
        {
            "pg_dump": pg_dump(),
            "process logs": logs,
            "this process's logs": caplog.text.encode(),
            "Redis, while the worker ran": redis_while_running,
            "Redis, at the end": b"\n".join(redis_dump(redis_conn)),
            **exchanges_haystacks(run.exchanges),
        },
        canaries,
        run,
    )


# -- the embedded default: gunicorn on a SQLite file, jobs in-process ----------------------


def sqlite_files(instance: Path) -> dict[str, bytes]:
    return {f"instance/{p.name}": p.read_bytes() for p in sorted(instance.iterdir()) if p.is_file()}


def test_no_canary_leaks_from_an_embedded_run(
    processes: Processes, log_setup: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    canaries = Canaries()
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    database = instance / "grievance.sqlite3"
    # The schema, reference data and one caseworker, written by this process.
    setup = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
        GRIEVANCE_KEYS_FILE=str(instance / "keys.json"),
    )
    with setup.app_context():
        db.create_all()
        load_taxonomy()
        load_partners()
        commit()
        user, totp_secret = make_staff("caseworker", email=f"cw-{canaries.token}@example.org")
        staff_email = user.email
        db.session.remove()
        db.engine.dispose()

    port = free_port()
    env = child_env(
        GRIEVANCE_ENV="development",
        GRIEVANCE_INSTANCE_DIR=str(instance),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=log_setup,
    )
    server, base = start_gunicorn(processes, port, env)
    # The embedded default signs with the development token it generated.
    twilio_token = (instance / "twilio_dev_token").read_text().strip()
    run = Run(base, twilio_token, staff_email, totp_secret)

    worker_part(run, canaries)
    caseworker_part(run, canaries)
    rows = delivered(setup)
    reply = next(r for r in rows if r.purpose == "reply" and r.channel == "sms")
    delivery_callback(run, canaries, reply.provider_id or "")
    check_the_run_happened(setup, canaries, rows)
    with setup.app_context():
        db.session.remove()
        db.engine.dispose()

    # Read the files while the server runs (the -wal file holds the latest
    # pages), and again once it has stopped and checkpointed.
    while_running = sqlite_files(instance)
    assert any(name.endswith("-wal") for name in while_running)
    processes.kill(server, signal.SIGTERM)
    logs = processes.output()
    assert b"console channel delivered outbox message" in logs, "no application log captured"

    assert_clean(
        {
            **{f"{name}, while running": data for name, data in while_running.items()},
            **{f"{name}, after stopping": data for name, data in sqlite_files(instance).items()},
            "process logs": logs,
            "this process's logs": caplog.text.encode(),
            **exchanges_haystacks(run.exchanges),
        },
        canaries,
        run,
    )

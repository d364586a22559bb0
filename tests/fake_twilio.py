"""A local fake of Twilio's REST API (the Messages resource) on 127.0.0.1.

It speaks enough of the real protocol for the twilio library: HTTP basic
auth, form-encoded POSTs to /2010-04-01/Accounts/<sid>/Messages.json, JSON
answers with a message sid, and Twilio's error document for failures. Tests
can make it answer with an error (500, 429, a 400 with a Twilio error code)
or stall past the client's timeout, for a number of requests, or hold a
request until the test releases it (to kill the sender mid-request).
"""

from __future__ import annotations

import base64
import json
import secrets
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Hold:
    """A request the fake keeps unanswered until the test calls `release()`.

    `arrived` is set once the request is waiting. On release the fake looks
    at the connection: if the sender has gone (its process was killed), the
    request is dropped unprocessed and no message is created, as the real
    API does with a request it never finished handling; `dropped` says
    which happened and `done` is set when the fake has decided.
    """

    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    dropped: bool | None = None

    def release(self) -> None:
        self.released.set()


@dataclass
class Failure:
    status: int
    code: int | None = None
    delay: float = 0.0
    hold: Hold | None = None


def _sender_gone(sock: socket.socket) -> bool:
    """Has the other end closed the connection (the request is fully read)?"""
    try:
        readable, _, _ = select.select([sock], [], [], 0.2)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    messages: list[dict[str, str]] = field(default_factory=list)
    failures: deque[Failure] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    # Inbound media: path -> (bytes, content type); what was fetched or deleted.
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    media_failures: deque[int] = field(default_factory=deque)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, status: int, code: int | None = None, times: int = 1) -> None:
        for _ in range(times):
            self.failures.append(Failure(status, code))

    def stall_next(self, seconds: float) -> None:
        self.failures.append(Failure(201, delay=seconds))

    def hold_next(self) -> Hold:
        """Keep the next request waiting until `release()` (see `Hold`)."""
        hold = Hold()
        self.failures.append(Failure(201, hold=hold))
        return hold

    def add_media(self, data: bytes, content_type: str) -> str:
        """A file as if a worker had sent it: its MediaUrl, as Twilio gives it."""
        message_sid = "MM" + secrets.token_hex(16)
        media_sid = "ME" + secrets.token_hex(16)
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        self.media[path] = (data, content_type)
        return self.base_url + path

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, status: int, doc: dict[str, object]) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                good = (
                    "Basic "
                    + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                )
                return self.headers.get("Authorization", "") == good

            def do_GET(self) -> None:
                # Like Twilio: the media address answers with a redirect to
                # short-lived storage, which needs no credentials.
                if self.path.startswith("/storage/"):
                    path = self.path[len("/storage") :]
                    found = fake.media.get(path)
                    if found is None:
                        self._send(404, {"status": 404})
                        return
                    data, content_type = found
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                with fake.lock:
                    status = fake.media_failures.popleft() if fake.media_failures else None
                if status is not None:
                    self._send(status, {"status": status})
                    return
                if not self._authorised():
                    self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return
                if self.path not in fake.media:
                    self._send(404, {"code": 20404, "message": "Not found", "status": 404})
                    return
                fake.fetched.append(self.path)
                self.send_response(307)
                self.send_header("Location", f"{fake.base_url}/storage{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_DELETE(self) -> None:
                path = self.path.removesuffix(".json")
                if not self._authorised() or path not in fake.media:
                    self._send(404, {"code": 20404, "message": "Not found", "status": 404})
                    return
                del fake.media[path]
                fake.deleted.append(path)
                self.send_response(204)
                self.end_headers()

            def do_POST(self) -> None:
                expected = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                auth = self.headers.get("Authorization", "")
                good = (
                    "Basic "
                    + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                )
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if auth != good:
                    self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return
                if self.path != expected:
                    self._send(404, {"code": 20404, "message": "Not found", "status": 404})
                    return
                with fake.lock:
                    failure = fake.failures.popleft() if fake.failures else None
                if failure is not None and failure.delay:
                    time.sleep(failure.delay)
                    failure = None
                if failure is not None and failure.hold is not None:
                    hold = failure.hold
                    hold.arrived.set()
                    hold.released.wait(120)
                    hold.dropped = _sender_gone(self.connection)
                    hold.done.set()
                    if hold.dropped:
                        self.close_connection = True
                        return
                    failure = None
                if failure is not None:
                    self._send(
                        failure.status,
                        {
                            "code": failure.code,
                            "message": "fake failure",
                            "more_info": "",
                            "status": failure.status,
                        },
                    )
                    return
                sid = "SM" + secrets.token_hex(16)
                with fake.lock:
                    fake.messages.append({**form, "_sid": sid})
                self._send(
                    201,
                    {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "status": "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "uri": f"{expected[:-5]}/{sid}.json",
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

"""Real processes for the fault and leak tests: redis-server, RQ workers, gunicorn.

Every process is started in its own session (process group), so a test can
kill a worker together with its forked work horse, and `Processes.close()`
kills whatever is still running when a test ends, passed or failed. Output
goes to files the tests read back (the leak scan reads every line).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLASK = str(BIN / "flask")
GUNICORN = str(BIN / "gunicorn")

# Inherited settings that must not leak into a child's configuration.
_CONFIG_VARIABLES = (
    "GRIEVANCE_ENV",
    "GRIEVANCE_KEYS",
    "GRIEVANCE_KEYS_FILE",
    "GRIEVANCE_INSTANCE_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "MESSAGING_BACKEND",
    "JOB_RUNNER",
    "PUBLIC_BASE_URL",
    "MAIL_SERVER",
)


def free_port() -> int:
    """A loopback port nobody listens on (free at the moment of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(**settings: str) -> dict[str, str]:
    """This environment without any grievance settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in _CONFIG_VARIABLES}
    env = {k: v for k, v in env.items() if not k.startswith("TWILIO_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def wait_until(condition: object, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `condition()` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def children(pid: int) -> list[int]:
    """The direct children of `pid` (an RQ worker's work horse), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the task ended meanwhile
            continue
    return found


def descendants(pid: int) -> list[int]:
    below = children(pid)
    return below + [d for child in below for d in descendants(child)]


class Processes:
    """Starts processes in their own process groups and stops all of them.

    RQ's work horse puts itself in a process group of its own, so stopping
    a worker means killing its descendants too, not just its group.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> int:
        """Send `sig` to the whole process group (a worker and its work horse)."""
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=10)

    def wait(self, proc: subprocess.Popen[bytes], timeout: float) -> int:
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            raise AssertionError(f"{proc.args!r} still running after {timeout:.0f}s") from None

    def output(self) -> bytes:
        """Everything every process wrote, so far."""
        return b"\n".join(log.read_bytes() for log in self.logs if log.exists())

    def close(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                below = descendants(proc.pid)
                self.kill(proc)
                for pid in below:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass


def worker_args(*, burst: bool) -> list[str]:
    """`flask grievance worker`, as production starts it."""
    return [FLASK, "--app", "wsgi", "grievance", "worker", *(["--burst"] if burst else [])]


# The production app and queues, worked by RQ's SimpleWorker until empty.
_SIMPLE_WORKER = """
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from grievance.notify.dispatch import QUEUE_NAMES
from wsgi import app

with app.app_context():
    connection = Redis.from_url(app.config["REDIS_URL"])
    worker = SimpleWorker(list(QUEUE_NAMES), connection=connection, serializer=JSONSerializer)
    worker.work(burst=True, logging_level="INFO")
"""


def simple_worker_args() -> list[str]:
    """An RQ SimpleWorker process on the production app and queues, without
    the scheduler and the periodic round of `flask grievance worker`."""
    return [sys.executable, "-c", _SIMPLE_WORKER]


class RedisServer:
    """A throwaway redis-server on a loopback port: no RDB, no AOF, so a
    restart comes back empty, as a Redis without persistence does."""

    def __init__(self, processes: Processes, port: int) -> None:
        self.processes = processes
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def conn(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)

    def _answers(self) -> bool:
        try:
            with self.conn() as conn:
                return bool(conn.ping())
        except RedisConnectionError:
            return False

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.processes.log_dir)]
        self.proc = self.processes.start("redis-server", args, child_env())
        wait_until(self._answers, 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        assert self.proc is not None
        self.processes.kill(self.proc, signal.SIGTERM)
        self.proc = None
        assert not self._answers()


def _values(conn: Redis, key: bytes) -> list[bytes]:
    kind = conn.type(key)
    if kind == b"string":
        return [conn.get(key) or b""]
    if kind == b"hash":
        return [v for pair in conn.hgetall(key).items() for v in pair]
    if kind == b"list":
        return list(conn.lrange(key, 0, -1))
    if kind == b"set":
        return list(conn.smembers(key))
    if kind == b"zset":
        return [member for member, _ in conn.zrange(key, 0, -1, withscores=True)]
    if kind == b"stream":
        return [v for _, fields in conn.xrange(key) for pair in fields.items() for v in pair]
    raise AssertionError(f"a Redis value of a type the scan does not read: {kind!r}")


def redis_dump(conn: Redis) -> Iterator[bytes]:
    """Every key and every value of one Redis database, whatever its type;
    compressed values (RQ's job data and exception info) also decompressed."""
    for key in conn.scan_iter("*"):
        yield key
        for value in _values(conn, key):
            yield value
            try:
                yield zlib.decompress(value)
            except zlib.error:
                pass

"""`make bench`: load-test the production entry point on SQLite and PostgreSQL.

For each database: build the schema, seed BENCH_CASES synthetic cases with
`flask grievance seed-bulk`, prepare signed requests (bench/prepare.py),
start gunicorn with 2 workers on loopback, and drive each scenario with wrk
for BENCH_SECONDS. Every figure is also given as a ratio to `/healthz` in
the same run, the framework's own ceiling on this machine. Then each
scenario runs for SOLO_SECONDS on a single connection: its median is the
work one request takes, with no other request to wait for. Results are
printed as a table and written to bench/results/latest.json.

Loopback only; every wrk run is bounded in time.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LUA = ROOT / "bench" / "lua" / "replay.lua"
RESULTS = ROOT / "bench" / "results"

CASES = int(os.environ.get("BENCH_CASES", "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
SOLO_SECONDS = int(os.environ.get("BENCH_SOLO_SECONDS", "2"))
THREADS = 2
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

SCENARIOS = [
    ("healthz", "GET /healthz (framework ceiling)"),
    ("report_form", "GET report form"),
    ("report_post", "POST report (full stack)"),
    ("webhook", "POST signed Twilio webhook"),
    ("queue", "GET queue, first page"),
    ("queue_filtered", "GET queue, filtered"),
    ("case_page", "GET case page (200 messages)"),
    ("dashboard", "GET reports dashboard"),
]
ONE_TIME = {"report_post", "webhook"}
# Logged-in scenarios: wrk sends back the session cookie the server last set,
# as a browser would. Without it every request after the first 15 seconds
# carries a stale "last seen" time, and the server signs and sends a new
# session cookie each time, which a browser would cause once in 15 seconds.
KEEP_COOKIES = {"queue", "queue_filtered", "case_page", "dashboard"}
# Their requests store and queue; one worker then does this many of the
# jobs they left, timed (bench/drain.py).
DRAINED = {"report_post": "held reports opened", "webhook": "inbound messages handled"}
DRAIN_ROWS = {"report_post": "held", "webhook": "inbound"}
DRAIN_JOBS = int(os.environ.get("BENCH_DRAIN_JOBS", "300"))
TARGETS = {  # scenario: (min ratio to /healthz, max p95 ms)
    "report_post": (0.35, None),
    "webhook": (0.35, None),
    "queue": (0.3, 50.0),
    "case_page": (None, 50.0),
    "dashboard": (None, 500.0),
}


@dataclass
class Result:
    database: str
    scenario: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    ratio: float
    errors: int
    # Of those: timeouts and broken connections (the rest: a status >= 400).
    socket_errors: int
    requests: int
    solo_ms: float  # median with one connection: the work of one request


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("installing wrk (Debian package)")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk") or "wrk"


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    from sqlalchemy import create_engine, text

    admin = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "grievance_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "grievance_bench"'))
    admin.dispose()
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/grievance_bench"


def settle(kind: str, url: str) -> None:
    """Measure the steady state, not the aftermath of a bulk load.

    Seeding writes gigabytes that the operating system then writes back to
    disk for minutes, while the database waits on the same disk for every
    commit: a run measured then (PostgreSQL right after SQLite's run, say)
    took half the reports a second of one measured alone. So, as pgbench
    does before its runs: VACUUM (ANALYZE) on PostgreSQL (what autovacuum
    would have done after such a load; without it, index-only scans read
    the table too), a checkpoint, then the machine's own buffers to disk;
    last, the database read once (`read_once`).
    """
    if kind == "postgresql":
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import DBAPIError

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            try:
                conn.execute(text("CHECKPOINT"))
            except DBAPIError:
                log("no checkpoint: it needs a superuser or the pg_checkpoint role")
        engine.dispose()
    else:
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.sync()
    read_once(kind, url)


def read_once(kind: str, url: str) -> None:
    """Read the whole database once, as a server that has been serving would
    have it in memory.

    Some machines drop file cache that sat unread for a while, however much
    memory is free: the machines the benchmark has run on since 2026-12-05
    run the kernel's DAMON with a pageout scheme (pages not accessed for 12
    intervals of 5 s, a minute, are paged out). Seeding writes the database
    minutes before the first request, so there the requests waited on the
    disk for the index pages they read (on one of them, SQLite, a million
    cases: 747 reports a second with the processors 15 % idle and 9 %
    waiting on the disk; 963 with the file read once first). What such a
    machine keeps of a busy database is what its requests keep reading;
    reading it once puts the run there.
    """
    if kind == "postgresql":
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import DBAPIError

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
                # Into the operating system's cache ('read'), tables and
                # indexes, this database's own (its TOAST tables too).
                conn.execute(
                    text(
                        "SELECT pg_prewarm(c.oid::regclass, 'read') FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE c.relkind IN ('r', 'i', 't', 'm')"
                        " AND n.nspname IN ('public', 'pg_toast')"
                    )
                )
        except DBAPIError:
            log("database not read into memory: pg_prewarm is missing or needs a superuser")
        finally:
            engine.dispose()
        return
    with open(url.removeprefix("sqlite:///"), "rb") as db_file:
        while db_file.read(1 << 20):
            pass


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "grievance", *args], cwd=ROOT, env=env, check=True
    )


def worker_rss_mb(master_pid: int) -> list[float]:
    children = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True)
    sizes = []
    for pid in children.stdout.split():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except FileNotFoundError:
            continue
    return sizes


def wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not become healthy")


def run_wrk(
    wrk: str,
    url: str,
    requests_file: Path,
    seconds: int,
    *,
    connections: int = CONNECTIONS,
    offset: int = 0,
    keep_cookies: bool = False,
) -> dict[str, float]:
    threads = min(THREADS, connections)
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_THREADS": str(threads),
        "BENCH_OFFSET": str(offset),
        "BENCH_KEEP_COOKIES": "1" if keep_cookies else "0",
    }
    out = subprocess.run(
        [
            wrk,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA),
            url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + 60,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    return json.loads(line[len("BENCH_JSON ") :])


def bench_database(kind: str, wrk: str) -> tuple[list[Result], dict[str, object]]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    try:
        return _bench_in(workdir, kind, wrk)
    finally:
        # A million-case SQLite file is over a gigabyte: never leave it behind.
        shutil.rmtree(workdir, ignore_errors=True)


def _bench_in(workdir: Path, kind: str, wrk: str) -> tuple[list[Result], dict[str, object]]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GRIEVANCE_", "TWILIO_"))},
        "GRIEVANCE_ENV": "production",
        "DATABASE_URL": database_url(kind, workdir),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "bench-" + "x" * 40,
        "GRIEVANCE_KEYS_FILE": str(workdir / "keys.json"),
        "PUBLIC_BASE_URL": base_url,
        "MESSAGING_BACKEND": "console",
        "TWILIO_AUTH_TOKEN": "bench-token",
    }
    subprocess.run(
        [
            str(BIN / "python"),
            "-c",
            "import sys; from grievance.crypto import KeyRing; "
            "KeyRing.generate().save(sys.argv[1])",
            env["GRIEVANCE_KEYS_FILE"],
        ],
        cwd=ROOT,
        check=True,
    )
    subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True)
    log(f"[{kind}] schema")
    flask(env, "init")
    log(f"[{kind}] seeding {CASES:,} cases")
    started = time.time()
    # Synthetic data is refused under the production config, by design:
    # seed with the development config against the same database and keys.
    flask({**env, "GRIEVANCE_ENV": "development"}, "seed-bulk", "--cases", str(CASES))
    seed_seconds = time.time() - started
    log(f"[{kind}] seeded in {seed_seconds:.1f} s; periodic work (the reports' roll-up)")
    # As a deployment's scheduler would have done by the time staff open
    # the dashboard: the periodic work counts the cases for the reports.
    started = time.time()
    flask(env, "tick")
    tick_seconds = time.time() - started
    log(f"[{kind}] periodic work in {tick_seconds:.1f} s; settling")
    started = time.time()
    settle(kind, env["DATABASE_URL"])
    log(f"[{kind}] settled and read once in {time.time() - started:.1f} s")
    log(f"[{kind}] preparing requests")
    # Enough one-time lines for the loaded run and the single-connection run.
    one_time = max(3000, (SECONDS + SOLO_SECONDS) * 600)
    prepared = subprocess.run(
        [
            str(BIN / "python"),
            str(ROOT / "bench" / "prepare.py"),
            str(workdir / "req"),
            str(one_time),
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    if prepared.returncode != 0:
        log(prepared.stderr[-3000:])
        raise RuntimeError("preparing the requests failed")
    info = json.loads(prepared.stdout.strip().splitlines()[-1])
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    results: list[Result] = []
    jobs: dict[str, dict[str, float]] = {}
    try:
        wait_healthy(base_url)
        ceiling = 0.0
        for scenario, _label in SCENARIOS:
            req = workdir / "req" / f"{scenario}.txt"
            # Warm up (not for one-time requests, which must not be spent).
            cookies = scenario in KEEP_COOKIES
            if scenario not in ONE_TIME:
                run_wrk(wrk, base_url, req, 1, keep_cookies=cookies)
            raw = run_wrk(wrk, base_url, req, SECONDS, keep_cookies=cookies)
            # One connection, after the lines the run above spent.
            solo = run_wrk(
                wrk,
                base_url,
                req,
                SOLO_SECONDS,
                connections=1,
                offset=int(raw["requests"]) + 64,
                keep_cookies=cookies,
            )
            rps = raw["requests"] / (raw["duration_us"] / 1e6)
            if scenario == "healthz":
                ceiling = rps
            results.append(
                Result(
                    database=kind,
                    scenario=scenario,
                    rps=round(rps, 1),
                    p50_ms=round(raw["p50_us"] / 1000, 1),
                    p95_ms=round(raw["p95_us"] / 1000, 1),
                    p99_ms=round(raw["p99_us"] / 1000, 1),
                    ratio=round(rps / ceiling, 3) if ceiling else 0.0,
                    errors=int(
                        raw["status_errors"]
                        + raw["socket_errors"]
                        + solo["status_errors"]
                        + solo["socket_errors"]
                    ),
                    socket_errors=int(raw["socket_errors"] + solo["socket_errors"]),
                    requests=int(raw["requests"]),
                    solo_ms=round(solo["p50_us"] / 1000, 2),
                )
            )
            log(f"[{kind}] {scenario}: {rps:.0f} req/s, p95 {raw['p95_us'] / 1000:.1f} ms")
            if scenario in DRAINED:
                jobs[scenario] = drain(env, DRAIN_ROWS[scenario])
                log(f"[{kind}] one RQ worker: {jobs[scenario]['per_second']} {DRAINED[scenario]}/s")
        rss = worker_rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return results, {
        "seed_seconds": round(seed_seconds, 1),
        "tick_seconds": round(tick_seconds, 1),
        "worker_rss_mb": rss,
        "rq_worker": jobs,
        **info,
    }


def drain(env: dict[str, str], rows: str) -> dict[str, float]:
    """One RQ worker process on the work the last scenario left, timed."""
    out = subprocess.run(
        [str(BIN / "python"), str(ROOT / "bench" / "drain.py"), rows, str(DRAIN_JOBS)],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    done = json.loads(out.strip().splitlines()[-1])
    seconds = float(done["seconds"]) or 1e-9
    return {**done, "per_second": round(float(done["done"]) / seconds, 1)}


def check_targets(results: list[Result], extra: dict[str, dict[str, object]]) -> list[str]:
    misses = []
    for r in results:
        if r.errors:
            misses.append(
                f"{r.database} {r.scenario}: {r.errors} failed requests "
                f"({r.socket_errors} timeouts or broken connections)"
            )
        ratio, p95 = TARGETS.get(r.scenario, (None, None))
        if ratio is not None and r.ratio < ratio:
            misses.append(f"{r.database} {r.scenario}: ratio {r.ratio} < {ratio}")
        if p95 is not None and r.p95_ms > p95:
            misses.append(f"{r.database} {r.scenario}: p95 {r.p95_ms} ms > {p95} ms")
    for kind, data in extra.items():
        if CASES >= 1_000_000 and float(data["seed_seconds"]) > 600:
            misses.append(f"{kind}: seeding took {data['seed_seconds']} s > 600 s")
        if any(size > 150 for size in data["worker_rss_mb"]):  # type: ignore[union-attr]
            misses.append(f"{kind}: worker RSS {data['worker_rss_mb']} MB > 150 MB")
    return misses


def main() -> int:
    wrk = ensure_wrk()
    all_results: list[Result] = []
    extra: dict[str, dict[str, object]] = {}
    for kind in DATABASES:
        results, info = bench_database(kind.strip(), wrk)
        all_results.extend(results)
        extra[kind] = info
    labels = dict(SCENARIOS)
    print(
        f"\nBenchmark: {CASES:,} cases, {SECONDS} s per scenario, wrk -t{THREADS} "
        f"-c{CONNECTIONS}, gunicorn 2 workers; {platform.node()} ({os.cpu_count()} CPUs); "
        f"Python {platform.python_version()} from {sys.base_prefix}; "
        f"1-conn: median of {SOLO_SECONDS} s on one connection\n"
    )
    header = (
        f"{'database':<11}{'scenario':<34}{'req/s':>9}{'ratio':>8}{'p50 ms':>9}"
        f"{'p95 ms':>9}{'p99 ms':>9}{'1-conn ms':>11}{'errors':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in all_results:
        print(
            f"{r.database:<11}{labels[r.scenario]:<34}{r.rps:>9.0f}{r.ratio:>8.2f}"
            f"{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}{r.p99_ms:>9.1f}{r.solo_ms:>11.2f}{r.errors:>8}"
        )
    for kind, info in extra.items():
        print(
            f"{kind}: seeding {info['seed_seconds']} s; periodic work (reports' roll-up) "
            f"{info['tick_seconds']} s; gunicorn worker RSS after the run: "
            f"{', '.join(f'{x:.0f} MB' for x in info['worker_rss_mb'])}"
        )  # type: ignore[union-attr]
        for scenario, done in info["rq_worker"].items():  # type: ignore[union-attr]
            print(
                f"{kind}: one RQ worker process, {DRAINED[scenario]}: "
                f"{done['per_second']}/s ({done['done']:.0f} in {done['seconds']} s, "
                f"{done['jobs']:.0f} jobs)"
            )
    misses = check_targets(all_results, extra)
    print("\nTargets: " + ("all met" if not misses else "missed:\n  " + "\n  ".join(misses)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "cases": CASES,
                "seconds": SECONDS,
                "connections": CONNECTIONS,
                "machine": {
                    "node": platform.node(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    # Which build runs the app: two builds of 3.11 served
                    # 15-40 % apart here (README, Performance).
                    "python_home": sys.base_prefix,
                },
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "results": [asdict(r) for r in all_results],
                "databases": extra,
                "missed_targets": misses,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

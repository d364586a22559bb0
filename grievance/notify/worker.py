"""The RQ worker process: `flask grievance worker`.

The worker runs inside one application context, so jobs use the
application's database session and channels; the scheduler runs with it so
that retries with backoff fire; a sweeper thread re-enqueues outbox rows
that missed their job.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from typing import Any

from flask import Flask
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from grievance.notify.dispatch import QUEUE_NAMES

log = logging.getLogger(__name__)


def _sweep_forever(app: Flask, interval: float, stop: threading.Event) -> None:
    from grievance.notify.jobs import run_periodic

    while not stop.wait(interval):
        with app.app_context():
            try:
                done = run_periodic()
                if any(done.values()):
                    log.info("sweeper: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
            except Exception as exc:  # noqa: BLE001 - keep sweeping
                log.warning("sweeper failed: %s", type(exc).__name__)


class JobWorker(SimpleWorker):
    """RQ's SimpleWorker, with a fresh database session for every job: what
    one job left in its session (a failed transaction, loaded rows, clear
    keys) never reaches the next."""

    def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
        from grievance.extensions import db

        try:
            return bool(super().perform_job(job, queue, execution))
        finally:
            db.session.remove()


def prepared_worker(connection: Redis) -> SimpleWorker:
    """The RQ worker on our queues (inside the application context).

    Jobs run in this process, one after the other, not each in a work horse
    forked for it: a horse inherits nothing it can keep, so every job paid
    again for SQLAlchemy's mapper set-up, its compiled statements and a new
    database connection (3.5 to 13 jobs a second in the benchmark, against
    about 90 here). A job that hangs is still stopped by RQ's timeout (an
    alarm in this process); if the process dies mid-job, the job's row stays
    pending for the periodic round and RQ retries the job once the dead
    worker's heartbeat has expired (integration/test_faults.py).
    """
    from grievance.extensions import db

    # RQ's scheduler runs in a forked process: it must not share the
    # parent's database sockets.
    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    # What the application loaded stays for the life of the process: out of
    # the garbage collector's sight, as in gunicorn.
    gc.collect()
    gc.freeze()
    return JobWorker(list(QUEUE_NAMES), connection=connection, serializer=JSONSerializer)


def run_worker(app: Flask, *, burst: bool = False, sweep_interval: float | None = None) -> None:
    """Work the queues; every `sweep_interval` seconds (OUTBOX_SWEEP_SECONDS,
    a minute by default) re-enqueue what was left pending and run the
    periodic tasks."""
    if sweep_interval is None:
        sweep_interval = float(app.config.get("OUTBOX_SWEEP_SECONDS", 60))
    connection = Redis.from_url(app.config["REDIS_URL"])
    stop = threading.Event()
    if not burst:
        threading.Thread(
            target=_sweep_forever, args=(app, sweep_interval, stop), daemon=True
        ).start()
    with app.app_context():
        worker = prepared_worker(connection)
        try:
            worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
        finally:
            stop.set()

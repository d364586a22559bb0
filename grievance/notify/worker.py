"""The RQ worker process: `flask grievance worker`.

The worker runs inside one application context, so jobs use the
application's database session and channels; the scheduler runs with it so
that retries with backoff fire; a sweeper thread re-enqueues outbox rows
that missed their job.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask
from redis import Redis
from rq import Worker
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
        from grievance.extensions import db

        # A forked work horse must not share the parent's database sockets.
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        worker = Worker(list(QUEUE_NAMES), connection=connection, serializer=JSONSerializer)
        try:
            worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
        finally:
            stop.set()

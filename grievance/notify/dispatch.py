"""Running jobs: in-process (embedded default) or on RQ workers (production).

Jobs are named functions in `grievance.notify.jobs` that take ids only, so
no message text, phone number or address ever sits in Redis. The in-process
runner runs a job right after the commit that caused it and lets its errors
raise (RQ's synchronous mode would swallow them).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

QUEUE_NAMES = ("urgent", "default")
RETRY = Retry(max=5, interval=[10, 30, 120, 600, 1800])


class Runner(Protocol):
    def enqueue(self, job: str, *ids: int) -> None: ...


def job_function(name: str) -> Any:
    from grievance.notify import jobs

    fn = jobs.REGISTRY.get(name)
    if fn is None:
        raise KeyError(f"unknown job {name!r}")
    return fn


class InProcessRunner:
    """Runs the job now, in this process; errors propagate to the caller."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, tuple[int, ...]]] = []

    def enqueue(self, job: str, *ids: int) -> None:
        self.ran.append((job, ids))
        job_function(job)(*ids)


class RQRunner:
    """Hands the job to Redis for an RQ worker; ids only, JSON-serialised."""

    def __init__(self, redis_url: str, failure_ttl: int) -> None:
        self.connection = Redis.from_url(redis_url)
        self.failure_ttl = failure_ttl
        self.queues = {
            name: Queue(name, connection=self.connection, serializer=JSONSerializer)
            for name in QUEUE_NAMES
        }

    def enqueue(self, job: str, *ids: int) -> None:
        fn = job_function(job)
        queue = self.queues[getattr(fn, "queue", "default")]
        # One round trip to Redis instead of two: RQ writes the job and
        # pushes it in the pipeline it is given (0.6 -> 0.4 ms here).
        with self.connection.pipeline() as pipe:
            queue.enqueue(
                fn,
                *ids,
                retry=RETRY,
                failure_ttl=self.failure_ttl,
                result_ttl=300,
                description=f"{job}({', '.join(str(i) for i in ids)})",
                pipeline=pipe,
            )
            pipe.execute()


def init_app(app: Flask) -> None:
    from grievance.notify import channels, signature

    channels.init_app(app)
    signature.init_app(app)
    runner: Runner
    if app.config.get("JOB_RUNNER") == "rq":
        if not app.config.get("REDIS_URL"):
            from config import ConfigError

            raise ConfigError("JOB_RUNNER=rq needs REDIS_URL")
        runner = RQRunner(app.config["REDIS_URL"], app.config["JOB_FAILURE_TTL"])
    else:
        runner = InProcessRunner()
    app.extensions["grievance.runner"] = runner


def runner() -> Runner:
    return current_app.extensions["grievance.runner"]


def enqueue(job: str, *ids: int) -> None:
    """Enqueue after commit. If Redis is down the row stays pending for the sweeper."""
    r = runner()
    if isinstance(r, InProcessRunner):
        r.enqueue(job, *ids)
        return
    try:
        r.enqueue(job, *ids)
    except Exception as exc:  # noqa: BLE001 - any Redis failure: the sweeper retries
        log.warning(
            "could not enqueue %s for id %s (%s); the sweeper will retry",
            job,
            ids,
            type(exc).__name__,
        )

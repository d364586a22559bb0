"""Running jobs: in-process (embedded default) or on RQ workers (production).

Jobs are named functions in `grievance.notify.jobs` that take ids only, so
no message text, phone number or address ever sits in Redis. The in-process
runner runs a job right after the commit that caused it and lets its errors
raise (RQ's synchronous mode would swallow them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask, current_app, g, has_request_context
from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from grievance.quick_redis import QuickCommand

log = logging.getLogger(__name__)

QUEUE_NAMES = ("urgent", "default")
RETRY = Retry(max=5, interval=[10, 30, 120, 600, 1800])
# A wake flag older than this is taken as a lost job: the next wake queues
# another run. (The periodic round has opened what waited by then.)
WAKE_FOR = 60
# The request's wakes sent by `wake_soon`, their replies not read yet.
_WAKES = "grievance_wakes"


class Runner(Protocol):
    def enqueue(self, job: str, *ids: int) -> None: ...

    def wake(self, job: str) -> None: ...

    def woken(self, job: str) -> None: ...


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

    def wake(self, job: str) -> None:
        self.enqueue(job)

    def woken(self, job: str) -> None:
        return None


class RQRunner:
    """Hands the job to Redis for an RQ worker; ids only, JSON-serialised."""

    def __init__(self, redis_url: str, failure_ttl: int) -> None:
        self.connection = Redis.from_url(redis_url)
        # The wake flag is set on every report and webhook: one connection at hand.
        self.quick = QuickCommand(self.connection)
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

    def wake(self, job: str) -> None:
        self.wake_soon(job)()

    def wake_soon(self, job: str) -> Callable[[], None]:
        """Send the wake now; the function returned reads Redis's reply and,
        if the flag was not standing, queues the run."""
        # One SET in the common case: while a run is queued and has not
        # started, the flag stands and a new row needs no job of its own.
        pending = self.quick.send("SET", _wake_key(job), 1, "NX", "EX", WAKE_FOR)

        def finish() -> None:
            if pending.result():
                try:
                    self.enqueue(job)
                except Exception:
                    self.connection.delete(_wake_key(job))
                    raise

        return finish

    def woken(self, job: str) -> None:
        self.connection.delete(_wake_key(job))


def _wake_key(job: str) -> str:
    return f"grievance:wake:{job}"


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
    app.teardown_request(_finish_wakes)


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


def wake(job: str) -> None:
    """After commit: make sure a run of the batch job `job` (no arguments)
    will look at the rows waiting for it.

    For rows that each would need a job of their own (a held web report):
    a burst of them queues one run, not one job each, and the request that
    stored a row pays one Redis command instead of writing a job. The job
    calls `woken` before it reads the waiting rows, so a row committed
    before this call is seen by a run that starts after it: the run queued
    now, or the one the standing flag stands for. If Redis is down the rows
    wait for the periodic round, as with `enqueue`.
    """
    r = runner()
    if isinstance(r, InProcessRunner):
        r.wake(job)
        return
    try:
        r.wake(job)
    except Exception as exc:  # noqa: BLE001 - any Redis failure: the periodic round takes the rows
        _not_woken(job, exc)


def _not_woken(job: str, exc: Exception) -> None:
    log.warning("could not wake %s (%s); the periodic round will", job, type(exc).__name__)


def wake_soon(job: str) -> None:
    """`wake`, for a request that has more to do: the wake is sent now and
    Redis's reply is read, and the run queued if needed, when the request
    ends (before its answer leaves), so the request need not wait for Redis
    in between. Outside a request, or with the in-process runner, it is
    `wake`."""
    r = runner()
    if not isinstance(r, RQRunner) or not has_request_context():
        wake(job)
        return
    try:
        finish = r.wake_soon(job)
    except Exception as exc:  # noqa: BLE001 - as in `wake`
        _not_woken(job, exc)
        return
    waiting = g.setdefault(_WAKES, [])
    waiting.append((job, finish))


def _finish_wakes(_error: BaseException | None = None) -> None:
    """When the request ends, even if it failed: read each wake's reply, so
    a run that was needed is queued."""
    for job, finish in g.pop(_WAKES, ()):
        try:
            finish()
        except Exception as exc:  # noqa: BLE001 - as in `wake`
            _not_woken(job, exc)


def woken(job: str) -> None:
    """Called by the batch job `job` before it reads its rows (see `wake`)."""
    runner().woken(job)

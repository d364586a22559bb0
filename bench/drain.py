"""Time one RQ worker on the work a scenario left behind.

Run by bench/run.py with the benchmark's environment, after the report and
webhook scenarios: their requests only store and queue, and the work they
leave (opening a held report's case, running a conversation step) is done
here by one worker process of the kind production runs (RQ's forking
worker, as `flask grievance worker` starts it). Prints how many rows it
handled, in how many jobs and seconds, then empties the queues.

Held reports are opened by runs of one job that each take what is waiting
(grievance.intake.held), inbound messages by a job each: the count is of
rows, read from the database before and after. What is left waits: the
rest of the run does not look at it.
"""

from __future__ import annotations

import json
import sys
import time

from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import func, select


def drain(what: str, limit: int) -> dict[str, float]:
    from grievance import create_app
    from grievance.extensions import db
    from grievance.intake import held
    from grievance.intake.models import HeldReport, InboundMessage
    from grievance.notify import dispatch
    from grievance.notify.dispatch import QUEUE_NAMES
    from grievance.notify.worker import prepared_worker

    app = create_app()
    connection = app.extensions["grievance.runner"].connection
    queues = [Queue(name, connection=connection, serializer=JSONSerializer) for name in QUEUE_NAMES]
    if what == "held":
        waiting = select(func.count()).select_from(HeldReport)
        # One run: it opens what waits, for up to RUN_FOR seconds.
        jobs = 1
    else:
        waiting = (
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.processed_at.is_(None))
        )
        jobs = limit
    jobs = min(jobs, sum(queue.count for queue in queues))
    with app.app_context():
        before = int(db.session.scalar(waiting) or 0)
        db.session.rollback()
        worker = prepared_worker(connection)
        started = time.perf_counter()
        worker.work(burst=True, max_jobs=jobs, logging_level="WARNING")
        seconds = time.perf_counter() - started
        done = before - int(db.session.scalar(waiting) or 0)
        db.session.rollback()
        for queue in queues:
            queue.empty()
        dispatch.woken(held.JOB)
    return {"done": done, "jobs": jobs, "seconds": round(seconds, 2)}


if __name__ == "__main__":
    print(json.dumps(drain(sys.argv[1], int(sys.argv[2]))))

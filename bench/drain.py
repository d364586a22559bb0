"""Time one RQ worker on the jobs a scenario left behind.

Run by bench/run.py with the benchmark's environment, after the report and
webhook scenarios: their requests only store and queue, and the work they
leave (opening a held report's case, running a conversation step) is done
here by one worker process of the kind production runs (RQ's forking
worker, as `flask grievance worker` starts it). Prints how many
jobs it did and in how many seconds, then empties the queues: the rest of
the run does not need them.
"""

from __future__ import annotations

import json
import sys
import time

from rq import Queue
from rq.serializers import JSONSerializer


def drain(limit: int) -> dict[str, float]:
    from grievance import create_app
    from grievance.notify.dispatch import QUEUE_NAMES
    from grievance.notify.worker import prepared_worker

    app = create_app()
    connection = app.extensions["grievance.runner"].connection
    queues = [Queue(name, connection=connection, serializer=JSONSerializer) for name in QUEUE_NAMES]
    jobs = min(limit, sum(queue.count for queue in queues))
    with app.app_context():
        worker = prepared_worker(connection)
        started = time.perf_counter()
        worker.work(burst=True, max_jobs=jobs, logging_level="WARNING")
        seconds = time.perf_counter() - started
    for queue in queues:
        queue.empty()
    return {"jobs": jobs, "seconds": round(seconds, 2)}


if __name__ == "__main__":
    print(json.dumps(drain(int(sys.argv[1]))))

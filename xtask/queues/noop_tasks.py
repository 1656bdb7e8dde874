"""The no-op task of `cargo xtask bench-queues` for Celery (RQ's is in `rq_noop.py`).

Celery is configured the way a queue that loses nothing must be: a task is acknowledged
after it ran (`acks_late`), a task whose worker process died goes back to the queue
(`reject_on_worker_lost`), a worker takes one task at a time (`prefetch 1`), and results
are not stored. The broker comes from `BENCH_BROKER`. Each worker counts the tasks it ran
in Redis, and the ones that failed, so that the benchmark knows when all of them ran.
"""

import os

from celery import Celery
from celery.signals import (
    task_failure,
    task_rejected,
    task_revoked,
    task_success,
    task_unknown,
    worker_ready,
)

app = Celery("noop_tasks", broker=os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    result_backend=None,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="noop")
def celery_noop():
    """Does nothing: what is measured is the queue."""


_redis = None


def _conn():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(app.conf.broker_url)
    return _redis


@worker_ready.connect
def announce(sender=None, **_):
    """Tells the benchmark this worker is ready, so that its start is not timed."""
    _conn().incr("bench:celery-ready")


@task_success.connect
def count(sender=None, **_):
    """Counts a task that ran (one INCR: a small cost next to Celery's own per task)."""
    _conn().incr("bench:celery-done")


@task_failure.connect
@task_rejected.connect
@task_revoked.connect
@task_unknown.connect
def fail(sender=None, **_):
    """Counts a task that did not run, so that the benchmark stops with an error."""
    _conn().incr("bench:celery-failed")

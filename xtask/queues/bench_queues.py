"""Times Celery or RQ running a no-op task in worker processes; prints one JSON line.

    python bench_queues.py --system celery --redis-url URL --tasks 20000 --workers 2

Each run empties the Redis it is given, starts the workers and waits until every one is
ready, so that what is timed is the queue, not the interpreter starting: from the first
enqueue until the last task is done. The systems:

- `celery`: prefork pool, one process per worker, settings in `noop_tasks.py`. Done when
  the workers have counted every task as run, and the queue and the in-flight (`unacked`)
  hash are both empty.
- `rq`: RQ's default worker, which forks a process for every job. Done when the workers'
  own success counters add up to the tasks.
- `rq-simple`: RQ's `SimpleWorker`, which runs the jobs in the worker process itself.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
QUEUE = "bench"
# How long workers may take to come up, and how long a run may go without a task done.
READY_WITHIN = 60.0
STALLED = 60.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", choices=["celery", "rq", "rq-simple"], required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    conn = redis.Redis.from_url(args.redis_url)
    conn.flushall()
    bench = {"celery": celery, "rq": rq_forking, "rq-simple": rq_simple}[args.system]
    with tempfile.TemporaryFile() as log:
        workers = []
        try:
            seconds, version = bench(args, conn, workers, log)
        except Exception as error:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-4000:]
            raise SystemExit(f"{args.system}: {error}\nworkers' output:\n{tail}") from error
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
    print(
        json.dumps(
            {
                "system": args.system,
                "version": version,
                "tasks": args.tasks,
                "workers": args.workers,
                "seconds": seconds,
                "tasks_per_second": args.tasks / seconds,
            }
        )
    )


def start(command, count, env, log, workers):
    for i in range(count):
        workers.append(
            subprocess.Popen(
                [part.replace("{i}", str(i)) for part in command],
                cwd=HERE,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        )


def wait_until(done, what, within, workers, progress=lambda: 0):
    """Polls `done` every 5 ms until it holds; fails when a worker exits, or when `within`
    seconds pass without `progress()` growing."""
    deadline, last = time.monotonic() + within, progress()
    while not done():
        for worker in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a worker exited ({worker.returncode}) while waiting for {what}")
        now, current = time.monotonic(), progress()
        if current > last:
            deadline, last = now + within, current
        elif now > deadline:
            raise RuntimeError(f"no {what} within {within:.0f} s")
        time.sleep(0.005)


def celery(args, conn, workers, log):
    import celery as package

    env = dict(os.environ, BENCH_BROKER=args.redis_url, PYTHONPATH=HERE)
    command = [sys.executable, "-m", "celery", "-A", "noop_tasks", "worker", "-P", "prefork"]
    command += ["-c", "1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    command += ["-Q", QUEUE, "--loglevel", "WARNING", "-n", "bench{i}@%h"]
    start(command, args.workers, env, log, workers)
    ready = lambda: int(conn.get("bench:celery-ready") or 0) >= args.workers
    wait_until(ready, "ready workers", READY_WITHIN, workers)

    os.environ["BENCH_BROKER"] = args.redis_url
    sys.path.insert(0, HERE)
    from noop_tasks import celery_noop

    started = time.monotonic()
    for _ in range(args.tasks):
        celery_noop.apply_async(queue=QUEUE)
    ran = lambda: int(conn.get("bench:celery-done") or 0)

    def done():
        failed = int(conn.get("bench:celery-failed") or 0)
        if failed:
            raise RuntimeError(f"{failed} Celery tasks failed")
        # Acknowledged late, a task leaves the `unacked` hash after it ran.
        return ran() >= args.tasks and conn.llen(QUEUE) == 0 and conn.hlen("unacked") == 0

    wait_until(done, "task done", STALLED, workers, ran)
    return time.monotonic() - started, f"Celery {package.__version__}"


def rq_forking(args, conn, workers, log):
    return rq(args, conn, workers, log, "rq.worker.Worker")


def rq_simple(args, conn, workers, log):
    return rq(args, conn, workers, log, "rq.worker.SimpleWorker")


def rq(args, conn, workers, log, worker_class):
    import rq as package
    from rq import Queue

    sys.path.insert(0, HERE)
    from rq_noop import noop

    program = os.path.join(os.path.dirname(sys.executable), "rq")
    command = [program, "worker", "-u", args.redis_url, "-w", worker_class, "--path", HERE]
    command += ["-n", "bench{i}", "--logging_level", "WARNING", QUEUE]
    start(command, args.workers, dict(os.environ), log, workers)
    wait_until(lambda: conn.scard("rq:workers") >= args.workers, "ready workers", READY_WITHIN, workers)

    queue = Queue(QUEUE, connection=conn)
    jobs = [Queue.prepare_data(noop, result_ttl=0) for _ in range(args.tasks)]
    started = time.monotonic()
    for at in range(0, len(jobs), 500):
        with conn.pipeline() as pipe:
            queue.enqueue_many(jobs[at : at + 500], pipeline=pipe)
            pipe.execute()

    def count(field):
        return sum(int(conn.hget(key, field) or 0) for key in conn.smembers("rq:workers"))

    def done():
        failed = count("failed_job_count")
        if failed:
            raise RuntimeError(f"{failed} RQ jobs failed")
        return count("successful_job_count") >= args.tasks

    wait_until(done, "job done", STALLED, workers, lambda: count("successful_job_count"))
    return time.monotonic() - started, f"RQ {package.__version__}"



if __name__ == "__main__":
    main()

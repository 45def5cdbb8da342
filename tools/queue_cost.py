"""What the queue itself costs per job: `python -m tools.queue_cost [--jobs N] [--redis-url URL]`.

A job that does nothing goes through each way of running jobs, side by side in one run:
- the embedded backend (service/queue/embedded.py: in memory, a thread of the API process);
- rq over a real Redis, with a `SimpleWorker` in a subprocess (what Redis mode does, minus the model);
- rq over fakeredis in this process, when the `fakeredis` package is installed: the "embedded mode on
  rq itself" design, which would replace the embedded backend with rq's own state machine.
It prints the median latency of one job (submit, then poll until finished) and the throughput of a
burst of N jobs. The decision it informed is in ARCHITECTURE.md ("Why embedded mode is not rq").
Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

from service.queue import EmbeddedBackend, JobSettings
from service.queue.states import FINISHED

SETTINGS = JobSettings(timeout_s=60, result_ttl_s=600, failure_ttl_s=600, retries=0, max_depth=100_000)
POLL_S = 0.0005
NOOP = "tools.queue_cost.noop"  # by name: rq refuses functions of __main__


def noop(payload: dict) -> None:
    """The job: nothing, so that only the queue's own work is timed."""
    return None


def _timed(submit_and_wait: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        submit_and_wait()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def embedded(jobs: int, repeats: int) -> tuple[float, float]:
    """(median seconds of one job, jobs/s of a burst) through the embedded backend."""
    backend = EmbeddedBackend(SETTINGS, job_function=noop)

    def one() -> None:
        job_id = uuid.uuid4().hex
        backend.submit(job_id, {})
        while backend.get(job_id).status not in FINISHED:  # type: ignore[union-attr]
            time.sleep(POLL_S)

    latency = _timed(one, repeats)
    ids = [uuid.uuid4().hex for _ in range(jobs)]
    start = time.perf_counter()
    for job_id in ids:
        backend.submit(job_id, {})
    while backend.get(ids[-1]).status not in FINISHED:  # type: ignore[union-attr]
        time.sleep(POLL_S)
    burst = jobs / (time.perf_counter() - start)
    backend.close()
    return latency, burst


def _rq_round_trips(queue, jobs: int, repeats: int) -> tuple[float, float]:
    """(median seconds of one job, jobs/s of a burst) through an rq queue a worker is serving."""

    def one() -> None:
        job = queue.enqueue(NOOP, {})
        while job.get_status(refresh=True) not in ("finished", "failed"):
            time.sleep(POLL_S)

    latency = _timed(one, repeats)
    start = time.perf_counter()
    last = None
    for _ in range(jobs):
        last = queue.enqueue(NOOP, {})
    while last is not None and last.get_status(refresh=True) not in ("finished", "failed"):
        time.sleep(POLL_S)
    return latency, jobs / (time.perf_counter() - start)


def rq_redis(url: str, jobs: int, repeats: int) -> tuple[float, float]:
    """Through a real Redis, the worker a `SimpleWorker` subprocess (no fork per job, like ours)."""
    from redis import Redis
    from rq import Queue

    name = f"queue-cost-{os.getpid()}"
    connection = Redis.from_url(url)
    queue = Queue(name, connection=connection)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "--worker-class",
            "rq.SimpleWorker",
            "--url",
            url,
            "-q",
            name,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return _rq_round_trips(queue, jobs, repeats)
    finally:
        worker.terminate()
        worker.wait(10)
        queue.delete(delete_jobs=True)


def rq_fakeredis(jobs: int, repeats: int) -> tuple[float, float] | None:
    """Through fakeredis in this process, a `SimpleWorker` in a thread; None without fakeredis."""
    try:
        import fakeredis
    except ImportError:
        return None
    from rq import Queue, SimpleWorker

    logging.getLogger("rq.worker").setLevel(logging.WARNING)  # a line per job otherwise
    connection = fakeredis.FakeStrictRedis()
    queue = Queue("queue-cost", connection=connection)
    worker = SimpleWorker([queue], connection=connection)
    # rq installs signal handlers, which only the main thread may do: off for a worker in a thread.
    worker._install_signal_handlers = lambda: None  # type: ignore[method-assign]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            worker.work(burst=True, with_scheduler=False)
            time.sleep(POLL_S)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        return _rq_round_trips(queue, jobs, repeats)
    finally:
        stop.set()
        thread.join(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.queue_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500, help="jobs in the burst (default 500)")
    parser.add_argument(
        "--repeats", type=int, default=50, help="single jobs timed for the median (default 50)"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="a Redis to measure rq on")
    args = parser.parse_args(argv)
    rows: list[tuple[str, tuple[float, float] | None]] = [
        ("embedded backend (this project)", embedded(args.jobs, args.repeats))
    ]
    rows.append(
        ("rq, real Redis, SimpleWorker subprocess", rq_redis(args.redis_url, args.jobs, args.repeats))
    )
    fake = rq_fakeredis(args.jobs, args.repeats)
    rows.append(
        ("rq, fakeredis in process", fake) if fake else ("rq, fakeredis in process (not installed)", None)
    )
    print(f"| way of running jobs | one job, median ms | burst of {args.jobs}, jobs/s |")
    print("|---|---|---|")
    for name, measured in rows:
        if measured is None:
            print(f"| {name} | – | – |")
        else:
            print(f"| {name} | {1000 * measured[0]:.2f} | {measured[1]:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

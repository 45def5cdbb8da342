"""The rq worker class: jobs run in this process, on the models it loaded once.

rq's `SimpleWorker` runs each job in the worker process itself (no fork per job, so the model stays
loaded and a GPU context is never forked). On top of it:

- A heartbeat thread refreshes the job's entry in the started-job registry every HEARTBEAT_S while
  the job runs, with a TTL of three beats. A SimpleWorker otherwise leaves the entry's TTL at the
  job timeout + 60 s, so a killed worker's job would look "running" for that long. Once the entry
  expires, rq's registry cleanup (run by the service and by every worker) retries the job or fails
  it as abandoned.
- Retries are kept for abandoned jobs (a killed or crashed worker). An exception raised by the job
  itself fails it at once: bad input or a timeout would only happen again.
- A job that raised `JobCanceled` ends as rq's "stopped" (shown as canceled), never retried.
- A job whose record vanished while it ran (deleted, expired, or lost when Redis restarted without
  persistence) stays gone: its outcome is dropped instead of written back, which would recreate the
  record and make a job the API had answered 404 for reappear as succeeded.
- rq ends its work loop on any error it did not expect, and Redis going away in the middle of a job is
  one (the job's result cannot be written). `serve` then waits for Redis and starts a fresh rq worker in
  the same process, on the model it already holds, instead of exiting (a restart reloads the model:
  minutes for a big checkpoint). The interrupted job is retried or failed as abandoned once its
  heartbeat expires, like a killed worker's.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.worker.base import WorkerStatus

from worker.control import JobCanceled

log = logging.getLogger(__name__)
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError)


class ModelWorker(SimpleWorker):
    def __init__(self, *args: Any, heartbeat_s: float = 10.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.heartbeat_s = heartbeat_s
        self.stop_signaled = False  # SIGTERM/SIGINT: rq's warm shutdown, not an outage
        self.lost_redis = False

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop_signaled = True
        super().request_stop(signum, frame)

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return max(3, round(3 * self.heartbeat_s))

    def execute_job(self, job: Any, queue: Any) -> None:
        try:
            execution = self.prepare_execution(job)
            stop = threading.Event()
            beat = threading.Thread(
                target=self._beat, args=(job, execution, stop), name="job-heartbeat", daemon=True
            )
            beat.start()
            try:
                self.perform_job(job, queue, execution)
            finally:
                stop.set()
                beat.join()
            self.set_state(WorkerStatus.IDLE)
        except REDIS_ERRORS:
            self.lost_redis = True  # rq's loop ends on this; `serve` starts it again once Redis is back
            raise

    def _beat(self, job: Any, execution: Any, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception as err:  # a missed beat is survivable; three in a row mark the job abandoned
                self.log.warning("heartbeat of job %s failed: %s", job.id, err)

    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any, execution: Any) -> None:
        if self._record_gone(job, execution):
            return
        super().handle_job_success(job, queue, started_job_registry, execution)

    def handle_job_failure(
        self,
        job: Any,
        queue: Any,
        started_job_registry: Any = None,
        exc_string: str = "",
        execution: Any = None,
    ) -> None:
        if self._record_gone(job, execution):
            return
        super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)

    def _record_gone(self, job: Any, execution: Any) -> bool:
        """True (and only the worker's own bookkeeping cleaned) when the job's record is gone.

        rq's end-of-execution heartbeat has run by now, and an HSET of `last_heartbeat` recreates a
        deleted record as a stub: so look for the job's payload field, not for the key."""
        if self.connection.hexists(job.key, "data"):
            return False
        log.warning(
            "job %s: its record is gone from Redis (deleted, expired or lost in a restart); "
            "its outcome is dropped, not written back",
            job.id,
        )
        with self.connection.pipeline() as pipeline:
            pipeline.delete(job.key)  # the heartbeat's stub, if any
            self.cleanup_execution(job, pipeline=pipeline, execution=execution)
            pipeline.execute()
        return True

    def handle_exception(self, job: Any, *exc_info: Any) -> None:
        exc_type = exc_info[0]
        if exc_type is not None and issubclass(exc_type, JobCanceled):
            self._stopped_job_id = job.id  # rq then marks it STOPPED and never retries it
            self.log.info("job %s canceled on request", job.id)
            return
        job.retries_left = 0  # in memory only: this failure is final, retries are for abandoned jobs
        super().handle_exception(job, *exc_info)


def serve(make_worker: Callable[[], ModelWorker], connection: Redis, logging_level: str) -> int:
    """rq's work loop, started again after each Redis outage; 0 after SIGTERM/SIGINT, 1 when the loop
    ended on an error that was not Redis's (rq logged it)."""
    while True:
        worker = make_worker()
        try:
            worker.work(logging_level=logging_level)
        except REDIS_ERRORS:  # rq's teardown deregisters the worker in Redis
            worker.lost_redis = True
        if worker.stop_signaled:
            return 0
        if not worker.lost_redis and _answers(connection):
            log.error("the work loop ended on an unexpected error (logged above); exiting")
            return 1
        log.warning("lost Redis; the model stays loaded, serving again once Redis answers")
        if not wait_for_redis(connection):
            return 0


def _answers(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except REDIS_ERRORS:
        return False


def wait_for_redis(connection: Redis, max_wait_s: float = 5.0) -> bool:
    """Ping until Redis answers (True); False if SIGTERM or SIGINT came meanwhile."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        wait = 0.5
        while not stop.is_set():
            if _answers(connection):
                log.info("Redis answers again")
                return True
            stop.wait(wait)
            wait = min(wait * 2, max_wait_s)
        return False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

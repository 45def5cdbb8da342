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
"""

from __future__ import annotations

import threading
from typing import Any

from rq import SimpleWorker
from rq.worker.base import WorkerStatus

from worker.control import JobCanceled


class ModelWorker(SimpleWorker):
    def __init__(self, *args: Any, heartbeat_s: float = 10.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.heartbeat_s = heartbeat_s

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return max(3, round(3 * self.heartbeat_s))

    def execute_job(self, job: Any, queue: Any) -> None:
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

    def _beat(self, job: Any, execution: Any, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception as err:  # a missed beat is survivable; three in a row mark the job abandoned
                self.log.warning("heartbeat of job %s failed: %s", job.id, err)

    def handle_exception(self, job: Any, *exc_info: Any) -> None:
        exc_type = exc_info[0]
        if exc_type is not None and issubclass(exc_type, JobCanceled):
            self._stopped_job_id = job.id  # rq then marks it STOPPED and never retries it
            self.log.info("job %s canceled on request", job.id)
            return
        job.retries_left = 0  # in memory only: this failure is final, retries are for abandoned jobs
        super().handle_exception(job, *exc_info)

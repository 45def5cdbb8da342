"""Redis mode: jobs on an rq queue, run by `python -m worker` processes; statuses read back from rq."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from service.queue.base import BackendUnavailable, IdempotencyConflict, JobSettings, QueueFull, iso
from service.queue.states import RQ_STATUS
from service.schemas import JobStatus, JobView
from worker.contracts import AUGMENT_JOB, AugmentJobResult, JobError, Progress, cancel_key, idempotency_key
from worker.logs import request_id_var

RQ_TIMEOUT_GRACE_S = 30


def _rq_status(job: Any) -> JobStatus:
    status = job.get_status(refresh=False)
    return RQ_STATUS.get(getattr(status, "value", str(status)), "queued")


class RedisBackend:
    mode = "redis"

    def __init__(self, url: str, queue_name: str, settings: JobSettings):
        from redis import Redis
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.settings = settings
        self.connection = Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
        )
        self.queue = Queue(queue_name, connection=self.connection, serializer=JSONSerializer)

    # Redis errors become BackendUnavailable (503) wherever the routes call in.
    def _guard(self, call: Callable[[], Any]) -> Any:
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            return call()
        except (ConnectionError, TimeoutError) as err:
            raise BackendUnavailable(str(err)) from err

    def submit(self, job_id: str, payload: dict[str, Any]) -> None:
        from rq import Retry

        def enqueue() -> None:
            depth = self.queue.count
            if depth >= self.settings.max_depth:
                raise QueueFull(depth, self.settings.max_depth)
            self.queue.enqueue(
                AUGMENT_JOB,
                payload,
                job_id=job_id,
                # The job's guard enforces timeout_s (from meta); rq's SIGALRM is only a backstop.
                job_timeout=math.ceil(self.settings.timeout_s) + RQ_TIMEOUT_GRACE_S,
                result_ttl=self.settings.result_ttl_s,
                failure_ttl=self.settings.failure_ttl_s,
                retry=Retry(max=self.settings.retries) if self.settings.retries else None,
                # rq's default description is the call string: every text of the request, kept in Redis.
                description=f"augment {payload.get('method')} x{len(payload.get('texts', []))}",
                # request_id: the worker's log records of this job name the request that submitted it
                meta={
                    "method": payload.get("method"),
                    "timeout_s": self.settings.timeout_s,
                    "request_id": request_id_var.get(),
                },
            )

        self._guard(enqueue)

    def _fetch(self, job_id: str) -> Any:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            return Job.fetch(job_id, connection=self.connection, serializer=self.queue.serializer)
        except NoSuchJobError:
            return None

    def get(self, job_id: str) -> JobView | None:
        def read() -> JobView | None:
            job = self._fetch(job_id)
            if job is None:
                return None
            # A dead worker's job stays "started" until someone cleans the registry: do it now.
            if _rq_status(job) == "running" and self.reap():
                job = self._fetch(job_id)
                if job is None:
                    return None
            return self._view(job)

        return self._guard(read)

    def cancel(self, job_id: str) -> JobView | None:
        def cancel() -> JobView | None:
            job = self._fetch(job_id)
            if job is None:
                return None
            status = _rq_status(job)
            if status in ("queued", "running"):
                # The key reaches a job a worker has just dequeued, too: its guard stops it within a poll.
                self.connection.set(cancel_key(job_id), 1, ex=math.ceil(self.settings.timeout_s) + 3_600)
            if status == "queued":
                from rq.exceptions import InvalidJobOperation

                with contextlib.suppress(InvalidJobOperation):  # canceled meanwhile
                    job.cancel()
                job = self._fetch(job_id) or job
            return self._view(job)

        return self._guard(cancel)

    def _view(self, job: Any) -> JobView:
        status = _rq_status(job)
        meta = job.meta or {}
        progress = meta.get("progress")
        error = None
        result = None
        if status == "failed":
            error = JobError(**meta["error"]) if meta.get("error") else self._failure_reason(job)
        elif status == "succeeded":
            value = job.return_value()
            result = AugmentJobResult.model_validate(value) if value is not None else None
        return JobView(
            id=job.id,
            status=status,
            method=meta.get("method"),
            progress=Progress(**progress) if progress else None,
            attempts=int(meta.get("attempts", 0)),
            cancel_requested=status == "running" and bool(self.connection.exists(cancel_key(job.id))),
            created_at=iso(job.created_at),
            started_at=iso(job.started_at),
            ended_at=iso(job.ended_at),
            error=error,
            result=result,
        )

    def _failure_reason(self, job: Any) -> JobError:
        latest = job.latest_result()
        text = (latest.exc_string or "") if latest is not None else ""
        if "AbandonedJobError" in text:
            return JobError(
                type="worker_lost",
                message=(
                    f"the worker running this job stopped before finishing (killed or crashed) and no retry "
                    f"was left after {int(job.meta.get('attempts', 1))} attempt(s) (JOB_RETRIES); "
                    "check the worker's log and submit the job again"
                ),
            )
        if "JobTimeoutException" in text:  # rq's backstop fired before the job's own guard
            return JobError(type="timeout", message=f"the job ran past its time limit ({job.timeout} s)")
        last_line = text.strip().splitlines()[-1] if text.strip() else "no reason was recorded"
        return JobError(type="internal", message=last_line)

    def depth(self) -> int:
        return int(self._guard(lambda: self.queue.count))

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except Exception:
            return False

    def workers(self) -> int | None:
        from rq import Worker

        return int(self._guard(lambda: Worker.count(queue=self.queue)))

    def counts(self) -> dict[str, int]:
        from rq.job import Job

        q = self.queue

        def read() -> dict[str, int]:
            # rq files a job stopped while running (canceled through the API) in its failed
            # registry; the API calls it canceled, and so must the counts.
            failed_ids = q.failed_job_registry.get_job_ids()
            pipe = self.connection.pipeline()
            for job_id in failed_ids:
                pipe.hget(f"{Job.redis_job_namespace_prefix}{job_id}", "status")
            statuses = pipe.execute() if failed_ids else []
            stopped = sum(1 for st in statuses if st in (b"stopped", "stopped"))
            return {
                "queued": q.count,
                "running": q.started_job_registry.count,
                "succeeded": q.finished_job_registry.count,
                "failed": len(failed_ids) - stopped,
                "canceled": q.canceled_job_registry.count + stopped,
            }

        return self._guard(read)

    def claim_idempotency(self, key_digest: str, body_digest: str, job_id: str) -> str | None:
        key = idempotency_key(key_digest)

        def claim() -> str | None:
            for _ in range(3):  # the stored key may expire between SET NX and GET
                if self.connection.set(
                    key, f"{body_digest}:{job_id}", nx=True, ex=self.settings.result_ttl_s
                ):
                    return None
                stored = self.connection.get(key)
                if stored is not None:
                    text = stored.decode() if isinstance(stored, bytes) else stored
                    stored_body, stored_job = text.split(":", 1)
                    if stored_body != body_digest:
                        raise IdempotencyConflict()
                    return stored_job
            raise BackendUnavailable("could not claim the idempotency key")

        return self._guard(claim)

    def release_idempotency(self, key_digest: str) -> None:
        self._guard(lambda: self.connection.delete(idempotency_key(key_digest)))

    def reap(self) -> bool:
        """Retry or fail the jobs of dead workers (their heartbeat expired). True if any were found."""
        registry = self.queue.started_job_registry
        if not registry.get_expired_job_ids():
            return False
        if self.queue.acquire_maintenance_lock():  # one cleaner at a time, like rq's workers
            try:
                registry.cleanup()
            finally:
                self.queue.release_maintenance_lock()
        return True

    def close(self) -> None:
        self.connection.close()

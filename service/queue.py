"""Where augment jobs run, behind one interface: a Redis/rq queue, or in this process (embedded).

Both run the same job function (`worker.jobs.augment`) and report the same statuses:
queued -> running -> succeeded | failed | canceled. The embedded backend exists so one user on one
machine needs no Redis; it keeps jobs in memory and runs them one at a time in a thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import importlib
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.schemas import JobStatus, JobView
from worker.contracts import (
    AUGMENT_JOB,
    AugmentJobResult,
    JobError,
    Progress,
    cancel_key,
    idempotency_key,
)
from worker.control import JobCanceled, use_context
from worker.logs import request_id_var

RQ_TIMEOUT_GRACE_S = 30


class QueueFull(Exception):
    def __init__(self, depth: int, limit: int):
        super().__init__(f"{depth} jobs are queued (limit {limit})")
        self.depth = depth
        self.limit = limit


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another request body."""


class BackendUnavailable(Exception):
    """The queue cannot be reached (Redis down)."""


@dataclass(frozen=True)
class JobSettings:
    timeout_s: float
    result_ttl_s: int
    failure_ttl_s: int
    retries: int
    max_depth: int


class JobBackend(Protocol):
    mode: str

    def submit(self, job_id: str, payload: dict[str, Any]) -> None: ...

    def get(self, job_id: str) -> JobView | None: ...

    def cancel(self, job_id: str) -> JobView | None: ...

    def depth(self) -> int: ...

    def ping(self) -> bool: ...

    def workers(self) -> int | None: ...

    def counts(self) -> dict[str, int]: ...

    def claim_idempotency(self, key_digest: str, body_digest: str, job_id: str) -> str | None: ...

    def release_idempotency(self, key_digest: str) -> None: ...

    def reap(self) -> bool: ...

    def close(self) -> None: ...


def _rq_status(job: Any) -> JobStatus:
    status = job.get_status(refresh=False)
    return _RQ_STATUS.get(getattr(status, "value", str(status)), "queued")


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="milliseconds")


# ----------------------------------------------------------------------------------------------
# Redis / rq


_RQ_STATUS: dict[str, JobStatus] = {
    "created": "queued",
    "queued": "queued",
    "deferred": "queued",
    "scheduled": "queued",
    "started": "running",
    "finished": "succeeded",
    "failed": "failed",
    "stopped": "canceled",
    "canceled": "canceled",
}


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
            created_at=_iso(job.created_at),
            started_at=_iso(job.started_at),
            ended_at=_iso(job.ended_at),
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


# ----------------------------------------------------------------------------------------------
# Embedded: in this process, one job at a time


@dataclass
class _LocalJob:
    id: str
    payload: dict[str, Any]
    status: JobStatus = "queued"
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    progress: Progress | None = None
    attempts: int = 0
    error: JobError | None = None
    result: dict[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    expires_at: float | None = None  # monotonic time after which the finished job is forgotten


class _LocalContext:
    """`worker.control.JobContext` of a job run by the embedded backend."""

    def __init__(self, job: _LocalJob, timeout_s: float):
        self.job = job
        self.job_id = job.id
        self.timeout_s: float | None = timeout_s  # no rq here: the job's guard enforces the deadline
        self.limit_s: float | None = timeout_s

    def report_progress(self, done: int, total: int) -> None:
        self.job.progress = Progress(done=done, total=total)

    def cancel_requested(self) -> bool:
        return self.job.cancel.is_set()

    def record_error(self, error: JobError) -> None:
        self.job.error = error

    def start_attempt(self) -> None:
        self.job.attempts += 1
        self.job.progress = Progress(done=0, total=0)


def _default_job_function() -> Callable[[dict[str, Any]], dict[str, Any]]:
    module, name = AUGMENT_JOB.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


class EmbeddedBackend:
    mode = "embedded"

    def __init__(self, settings: JobSettings, job_function: Callable[[dict[str, Any]], Any] | None = None):
        self.settings = settings
        self._job_function = job_function or _default_job_function()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-job")
        self._jobs: dict[str, _LocalJob] = {}
        self._idempotency: dict[str, tuple[str, str, float]] = {}  # key -> (body digest, job id, expiry)
        self._lock = threading.Lock()

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for job_id in [j.id for j in self._jobs.values() if j.expires_at is not None and j.expires_at <= now]:
            del self._jobs[job_id]
        for key in [k for k, (_, _, expiry) in self._idempotency.items() if expiry <= now]:
            del self._idempotency[key]

    def submit(self, job_id: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._forget_expired()
            depth = sum(j.status == "queued" for j in self._jobs.values())
            if depth >= self.settings.max_depth:
                raise QueueFull(depth, self.settings.max_depth)
            job = _LocalJob(job_id, payload)
            self._jobs[job_id] = job
        # The job runs in the submitting request's context: its log records carry the request id.
        self._executor.submit(contextvars.copy_context().run, self._run, job)

    def _run(self, job: _LocalJob) -> None:
        with self._lock:
            if job.status != "queued":  # canceled while queued
                return
            job.status = "running"
            job.started_at = dt.datetime.now(dt.UTC)
        context = _LocalContext(job, self.settings.timeout_s)
        status: JobStatus
        result = None
        try:
            with use_context(context):
                result = self._job_function(job.payload)
            status = "succeeded"
        except JobCanceled:
            status = "canceled"
        except Exception as err:
            status = "failed"
            if job.error is None:
                from worker.jobs import describe_error

                job.error = describe_error(err, self.settings.timeout_s)
        with self._lock:
            job.status = status
            job.result = result
            job.ended_at = dt.datetime.now(dt.UTC)
            ttl = self.settings.result_ttl_s if status == "succeeded" else self.settings.failure_ttl_s
            job.expires_at = time.monotonic() + ttl

    def _view(self, job: _LocalJob) -> JobView:
        return JobView(
            id=job.id,
            status=job.status,
            method=job.payload.get("method"),
            progress=job.progress,
            attempts=job.attempts,
            cancel_requested=job.status == "running" and job.cancel.is_set(),
            created_at=_iso(job.created_at),
            started_at=_iso(job.started_at),
            ended_at=_iso(job.ended_at),
            error=job.error if job.status == "failed" else None,
            result=AugmentJobResult.model_validate(job.result) if job.result is not None else None,
        )

    def get(self, job_id: str) -> JobView | None:
        with self._lock:
            self._forget_expired()
            job = self._jobs.get(job_id)
            return self._view(job) if job is not None else None

    def cancel(self, job_id: str) -> JobView | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status == "queued":
                job.status = "canceled"
                job.ended_at = dt.datetime.now(dt.UTC)
                job.expires_at = time.monotonic() + self.settings.failure_ttl_s
            elif job.status == "running":
                job.cancel.set()  # the job's guard interrupts it within a poll
            return self._view(job)

    def depth(self) -> int:
        with self._lock:
            return sum(j.status == "queued" for j in self._jobs.values())

    def ping(self) -> bool:
        return True

    def workers(self) -> int | None:
        return None

    def counts(self) -> dict[str, int]:
        with self._lock:
            statuses = [j.status for j in self._jobs.values()]
        return {s: statuses.count(s) for s in ("queued", "running", "succeeded", "failed", "canceled")}

    def claim_idempotency(self, key_digest: str, body_digest: str, job_id: str) -> str | None:
        with self._lock:
            self._forget_expired()
            stored = self._idempotency.get(key_digest)
            if stored is None:
                expiry = time.monotonic() + self.settings.result_ttl_s
                self._idempotency[key_digest] = (body_digest, job_id, expiry)
                return None
            if stored[0] != body_digest:
                raise IdempotencyConflict()
            return stored[1]

    def release_idempotency(self, key_digest: str) -> None:
        with self._lock:
            self._idempotency.pop(key_digest, None)

    def reap(self) -> bool:
        return False  # nothing can die here without the whole process

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                if job.status == "running":
                    job.cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

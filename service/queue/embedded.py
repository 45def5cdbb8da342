"""Embedded mode: jobs kept in memory and run one at a time in a thread of the API process.

It runs the same job function as the rq worker and moves its jobs through the same state machine
(`service.queue.states`); why it is not rq over an in-process Redis is in ARCHITECTURE.md.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import importlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from service.queue.base import IdempotencyConflict, JobSettings, QueueFull, iso
from service.queue.states import STATUSES, advance
from service.schemas import JobStatus, JobView
from worker.contracts import AUGMENT_JOB, AugmentJobResult, JobError, Progress
from worker.control import JobCanceled, use_context


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
            job.status = advance(job.status, "running")
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
            job.status = advance(job.status, status)
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
            created_at=iso(job.created_at),
            started_at=iso(job.started_at),
            ended_at=iso(job.ended_at),
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
                job.status = advance(job.status, "canceled")
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
        return {s: statuses.count(s) for s in STATUSES}

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

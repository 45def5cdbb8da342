"""How a running job talks to whoever runs it: progress, cancellation, a deadline, its failure reason.

A job function finds its context with `current_context()`: the embedded runner sets one in a context
variable; under rq it is built from `rq.get_current_job()`. Both give the same job function the same
behaviour, so the embedded mode and the queue report the same statuses.

Cancellation and the embedded deadline interrupt the job's thread with an asynchronous exception
(the mechanism rq's own `TimerDeathPenalty` uses): the model code needs no checkpoints of its own,
and the exception lands between two Python bytecodes, at the latest when the current tensor op ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from worker.contracts import JobError, cancel_key

log = logging.getLogger(__name__)


class JobCanceled(Exception):
    """Raised inside a job whose cancellation was requested."""


class JobTimedOut(Exception):
    """Raised inside a job that ran past its deadline (embedded mode; rq raises its own)."""


class JobContext(Protocol):
    job_id: str
    timeout_s: float | None  # enforced by the job's `JobGuard`; None: no limit of ours
    limit_s: float | None  # the job's time limit, whoever enforces it (for messages)

    def report_progress(self, done: int, total: int) -> None: ...

    def cancel_requested(self) -> bool: ...

    def record_error(self, error: JobError) -> None: ...

    def start_attempt(self) -> None: ...


class NullContext:
    """A job called directly (a test, a script): no progress sink, never canceled."""

    job_id: str = "direct"
    timeout_s: float | None = None
    limit_s: float | None = None

    def report_progress(self, done: int, total: int) -> None:
        pass

    def cancel_requested(self) -> bool:
        return False

    def record_error(self, error: JobError) -> None:
        pass

    def start_attempt(self) -> None:
        pass


# HSET the meta field only if the job's record exists (its payload field: rq's heartbeat may leave a
# stub hash of a deleted job), atomically (no window between check and write).
_SET_META_IF_PRESENT = """
if redis.call('HEXISTS', KEYS[1], 'data') == 1 then
    redis.call('HSET', KEYS[1], 'meta', ARGV[1])
    return 1
end
return 0
"""


class RqJobContext:
    """Context of a job run by an rq worker: state lives in the job's meta and in Redis keys.

    The time limit comes from the job's meta (`timeout_s`, set by the service) and is enforced by the
    job's guard; rq's own timeout is set a little longer, as a backstop only.
    """

    # Progress writes are throttled: a job with many small steps must not flood Redis.
    min_progress_interval_s = 0.5

    def __init__(self, job: Any):
        self.job = job
        self.job_id = job.id
        timeout = job.meta.get("timeout_s")
        self.timeout_s: float | None = float(timeout) if timeout else None
        self.limit_s: float | None = self.timeout_s or job.timeout
        self.request_id: str | None = job.meta.get("request_id")  # the request that submitted it
        self._last_progress = 0.0
        self.record_gone = False  # set when a write finds the job's record deleted: the job stops

    def _save_meta(self) -> None:
        """Write the job's meta only while its record exists: a plain HSET would recreate a deleted
        job as a hash holding nothing but meta."""
        written = self.job.connection.eval(
            _SET_META_IF_PRESENT, 1, self.job.key, self.job.serializer.dumps(self.job.meta)
        )
        if not written:
            self.record_gone = True

    def report_progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last_progress < self.min_progress_interval_s:
            return
        self._last_progress = now
        self.job.meta["progress"] = {"done": done, "total": total}
        try:
            self._save_meta()
        except Exception as err:  # progress is best effort: a Redis hiccup must not fail the job
            log.warning(
                "progress of job %s not saved: %s: %s", self.job_id, type(err).__name__, err or repr(err)
            )

    def cancel_requested(self) -> bool:
        # A job deleted from under the worker is as good as canceled: nobody can read its result.
        return self.record_gone or bool(self.job.connection.exists(cancel_key(self.job_id)))

    def record_error(self, error: JobError) -> None:
        self.job.meta["error"] = error.model_dump()
        self._save_meta()

    def start_attempt(self) -> None:
        # meta survives a retry, so this counts executions, including those of killed workers
        self.job.meta["attempts"] = int(self.job.meta.get("attempts", 0)) + 1
        self.job.meta.pop("error", None)
        self.job.meta["progress"] = {"done": 0, "total": 0}
        self._save_meta()


_context: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("job_context", default=None)


@contextlib.contextmanager
def use_context(context: JobContext) -> Iterator[None]:
    token = _context.set(context)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> JobContext:
    context = _context.get()
    if context is not None:
        return context
    from rq import get_current_job

    job = get_current_job()
    return RqJobContext(job) if job is not None else NullContext()


def _raise_in_thread(thread_id: int, exception: type[BaseException] | None) -> None:
    """Schedule `exception` in another thread (None clears a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception is not None else None
    )


class JobGuard:
    """Watches a job from a helper thread and interrupts it on cancellation or past its deadline.

    Use as a context manager around the job's work, in the thread that does the work. Interrupts are
    only delivered while the guard is armed; leaving the guard disarms it under a lock and clears an
    interrupt not yet delivered, so nothing lands in the caller after the job returned.
    """

    def __init__(
        self,
        cancel_requested: Callable[[], bool],
        timeout_s: float | None = None,
        poll_s: float = 0.25,
    ):
        self.cancel_requested = cancel_requested
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._armed = False
        self._target = 0
        self._watcher: threading.Thread | None = None
        self.fired: type[BaseException] | None = None

    def __enter__(self) -> JobGuard:
        self._target = threading.get_ident()
        self._deadline = time.monotonic() + self.timeout_s if self.timeout_s else None
        self._armed = True
        self._watcher = threading.Thread(target=self._watch, name="job-guard", daemon=True)
        self._watcher.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._armed = False
            _raise_in_thread(self._target, None)
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()

    def _watch(self) -> None:
        reason: type[BaseException] | None = None
        while not self._stop.wait(self.poll_s):
            if reason is None:
                reason = self._reason()
            if reason is None:
                continue
            # Fire again every poll until the job is gone: an exception that lands inside a __del__
            # or a weakref callback is swallowed by Python (seen with rq's SIGALRM timeout, too).
            with self._lock:
                if not self._armed:
                    return
                self.fired = reason
                _raise_in_thread(self._target, reason)

    def _reason(self) -> type[BaseException] | None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return JobTimedOut
        try:
            return JobCanceled if self.cancel_requested() else None
        except Exception:  # a Redis hiccup must not kill the watcher; look again next poll
            return None

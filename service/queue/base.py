"""What every queue backend offers the routes, and the errors they raise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from service.schemas import JobView


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


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="milliseconds")

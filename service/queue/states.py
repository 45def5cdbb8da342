"""The one job state machine: the statuses a job shows through the API and the moves between them.

    queued --> running --> succeeded
       |          |  \\--> failed
       |          |   \\-> canceled
       |          \\-----> queued     (Redis mode only: its worker died and JOB_RETRIES re-runs it)
       \\----------------> canceled

Both backends report these statuses: the embedded backend moves its jobs with `advance`, which
refuses any other move; the Redis backend reads rq's status and names it with `RQ_STATUS`, whose
moves rq makes (tests/service/test_job_states.py checks that every rq status is named and that the
moves rq makes are the ones above).
"""

from __future__ import annotations

from service.schemas import JobStatus

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    "queued": frozenset({"running", "canceled"}),
    "running": frozenset({"succeeded", "failed", "canceled", "queued"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
}
STATUSES: tuple[JobStatus, ...] = tuple(TRANSITIONS)
FINISHED: frozenset[JobStatus] = frozenset(s for s, moves in TRANSITIONS.items() if not moves)

# Every rq 3 job status (rq.job.JobStatus values) as the API names them. rq files a job stopped while
# running (canceled through the API) as "stopped".
RQ_STATUS: dict[str, JobStatus] = {
    "created": "queued",
    "queued": "queued",
    "deferred": "queued",
    "scheduled": "queued",
    "rate_limited": "queued",  # rq 3: held back by a queue's rate limit, not yet run
    "ready_to_enqueue": "queued",  # rq 3: about to be put on its queue
    "started": "running",
    "finished": "succeeded",
    "failed": "failed",
    "stopped": "canceled",
    "canceled": "canceled",
}


class InvalidTransition(RuntimeError):
    """A move the state machine does not have (a bug in a backend, not a user error)."""


def advance(current: JobStatus, new: JobStatus) -> JobStatus:
    """`new` if a job may move from `current` to it; raises InvalidTransition otherwise."""
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(f"a job cannot go from {current} to {new}")
    return new

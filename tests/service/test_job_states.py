"""The one job state machine (service/queue/states.py) and the backends that follow it."""

import threading
import time

import pytest
from rq.job import JobStatus as RqJobStatus

from service.queue import EmbeddedBackend, JobSettings
from service.queue.states import FINISHED, RQ_STATUS, STATUSES, TRANSITIONS, InvalidTransition, advance

SETTINGS = JobSettings(timeout_s=30, result_ttl_s=60, failure_ttl_s=60, retries=0, max_depth=10)


def test_the_moves_a_job_can_make():
    assert advance("queued", "running") == "running"
    assert advance("queued", "canceled") == "canceled"
    assert advance("running", "queued") == "queued"  # a retry after its worker died
    for finished in ("succeeded", "failed", "canceled"):
        assert advance("running", finished) == finished
        with pytest.raises(InvalidTransition):
            advance(finished, "running")
    with pytest.raises(InvalidTransition):
        advance("queued", "succeeded")  # a job that never ran cannot have a result
    assert {"succeeded", "failed", "canceled"} == FINISHED
    assert set(STATUSES) == set(TRANSITIONS)


def test_every_rq_status_has_an_api_name():
    # A new rq release with a status this map lacks would show up as "queued" forever: fail here first.
    assert {s.value for s in RqJobStatus} == set(RQ_STATUS)
    assert set(RQ_STATUS.values()) <= set(STATUSES)


@pytest.mark.parametrize(
    "before, after",
    [
        ("queued", "started"),
        ("started", "finished"),
        ("started", "failed"),
        ("started", "stopped"),  # canceled while running
        ("queued", "canceled"),
        ("deferred", "canceled"),
        ("started", "scheduled"),  # retried after its worker died, with a delay
        ("started", "queued"),  # retried at once
        ("scheduled", "queued"),
    ],
)
def test_the_moves_rq_makes_are_moves_of_the_state_machine(before, after):
    old, new = RQ_STATUS[before], RQ_STATUS[after]
    assert old == new or new in TRANSITIONS[old]


def _statuses_until_finished(backend, job_id, timeout_s=10.0):
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = backend.get(job_id).status
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in FINISHED:
            return seen
        time.sleep(0.005)
    raise AssertionError(f"job still {seen[-1]} after {timeout_s} s")


def test_embedded_jobs_walk_the_state_machine():
    release = threading.Event()

    def job(payload):
        release.wait(5)
        if payload["fail"]:
            raise ValueError("boom")
        return None

    backend = EmbeddedBackend(SETTINGS, job_function=job)
    try:
        backend.submit("a", {"fail": False})
        backend.submit("b", {"fail": True})
        backend.submit("c", {"fail": False})
        assert backend.get("c").status == "queued"
        backend.cancel("c")  # canceled while queued: it never runs
        assert backend.counts() == {"queued": 1, "running": 1, "succeeded": 0, "failed": 0, "canceled": 1}
        release.set()
        assert _statuses_until_finished(backend, "a")[-1] == "succeeded"
        assert _statuses_until_finished(backend, "b")[-1] == "failed"
        for job_id in "abc":
            assert backend.get(job_id).status in FINISHED
        assert backend.get("c").status == "canceled" and backend.get("c").started_at is None
    finally:
        backend.close()

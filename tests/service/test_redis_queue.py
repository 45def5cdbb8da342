"""The API on a real Redis queue (db 13) with real `python -m worker` processes."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.service.conftest import (
    HUGE_JOB,
    SLOW_JOB,
    WorkerProcess,
    assert_error,
    assert_job_data_is_json,
    client_for,
    finished,
    items,
    make_settings,
    wait_ready,
    wait_status,
)


def redis_settings(tiny_checkpoint, redis_url, queue_name, **overrides):
    return make_settings(tiny_checkpoint, redis_url=redis_url, queue_name=queue_name, **overrides)


def test_job_lifecycle_through_a_real_worker(tiny_checkpoint, redis_url, queue_name, start_worker):
    worker = start_worker(queue_name)
    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name)) as client:
        wait_ready(client)
        body = {"items": items(3), "n": 2, "seed": 5}
        accepted = client.post("/augment", json=body)
        assert accepted.status_code == 202
        job_id = accepted.json()["id"]
        assert accepted.headers["location"] == f"/jobs/{job_id}"
        assert client.get(f"/jobs/{job_id}").json()["status"] in ("queued", "running", "succeeded")
        worker.wait_registered()
        view = wait_status(client, job_id, finished)
        assert view["status"] == "succeeded", view
        assert view["attempts"] == 1
        assert view["progress"] == {"done": 6, "total": 6}
        assert view["started_at"] and view["ended_at"]
        outputs = view["result"]["outputs"]
        assert len(outputs) == 6
        assert all(0.0 <= o["label_prob"] <= 1.0 and "step" in o["provenance"] for o in outputs)
        assert client.get("/readyz").json()["checks"]["workers"] == 1

        # No pickle on the queue: the API enqueues with rq's JSON serializer, and what the worker wrote
        # (the result, the job's meta) reads back as JSON from the raw records in Redis.
        from rq.serializers import JSONSerializer

        assert client.app.state.core.backend.queue.serializer is JSONSerializer
        raw = assert_job_data_is_json(redis_url, job_id)
        assert raw["data"][0] == "worker.jobs.augment" and raw["data"][2][0]["texts"] == [
            i["text"] for i in body["items"]
        ]
        assert raw["meta"]["attempts"] == 1 and raw["meta"]["progress"] == {"done": 6, "total": 6}
        assert [o["text"] for o in raw["results"][-1]["outputs"]] == [o["text"] for o in outputs]

        # The queue and the embedded mode run the same job function: same request, same outputs.
        with client_for(make_settings(tiny_checkpoint)) as embedded:
            wait_ready(embedded)
            local = wait_status(embedded, embedded.post("/augment", json=body).json()["id"], finished)
        assert [o["text"] for o in local["result"]["outputs"]] == [o["text"] for o in outputs]
        assert [o["provenance"] for o in local["result"]["outputs"]] == [o["provenance"] for o in outputs]

        # Idempotency lives in Redis: a second API process would answer the same.
        first = client.post("/augment", json=body, headers={"Idempotency-Key": "batch-7"})
        with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name)) as other_api:
            replay = other_api.post("/augment", json=body, headers={"Idempotency-Key": "batch-7"})
            assert replay.json()["id"] == first.json()["id"]
            conflict = other_api.post(
                "/augment", json={**body, "n": 1}, headers={"Idempotency-Key": "batch-7"}
            )
            assert conflict.status_code == 409
        assert wait_status(client, first.json()["id"], finished)["status"] == "succeeded"


def test_cancel_running_and_queued_jobs(tiny_checkpoint, redis_url, queue_name, start_worker):
    """A canceled running job stops using the worker: the worker takes the next job within seconds,
    although the canceled one had most of its work ahead of it."""
    worker = start_worker(queue_name).wait_registered()
    long_job = {**HUGE_JOB, "decoding": {"rounds": 32}}  # minutes of work on two cores
    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name)) as client:
        running = client.post("/augment", json=long_job).json()["id"]
        queued = client.post("/augment", json={"items": items(2), "n": 1}).json()["id"]
        wait_status(client, running, lambda v: v["status"] != "queued")
        response = client.post(f"/jobs/{queued}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "canceled"
        following = client.post("/augment", json={"items": items(1), "n": 1}).json()["id"]
        time.sleep(1.0)  # let it get going
        asked = dt.datetime.now(dt.UTC)
        response = client.post(f"/jobs/{running}/cancel")
        assert response.status_code == 202 and response.json()["status"] == "running"
        assert response.json()["cancel_requested"] is True
        progress = response.json()["progress"]
        assert progress["done"] < progress["total"] / 2, progress  # most of the job was still to do
        view = wait_status(client, running, finished)
        assert view["status"] == "canceled" and view["result"] is None
        assert client.get(f"/jobs/{queued}").json()["status"] == "canceled"
        # The same worker lives on and serves the next job at once.
        after = wait_status(client, following, finished)
        assert after["status"] == "succeeded"
        stopped_after = (dt.datetime.fromisoformat(view["ended_at"]) - asked).total_seconds()
        next_after = (dt.datetime.fromisoformat(after["started_at"]) - asked).total_seconds()
        assert stopped_after < 5 and next_after < 6, (stopped_after, next_after)
        assert worker.process.poll() is None
        assert_job_data_is_json(redis_url, running)
        # The job gauge follows the API's statuses: both cancellations count as canceled, none as failed.
        metrics = client.get("/metrics").text
        assert 'dcls_jobs{status="canceled"} 2.0' in metrics, metrics
        assert 'dcls_jobs{status="failed"} 0.0' in metrics


def test_job_timeout_on_the_queue(tiny_checkpoint, redis_url, queue_name, start_worker):
    start_worker(queue_name)
    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name, job_timeout_s=0.2)) as client:
        view = wait_status(client, client.post("/augment", json=HUGE_JOB).json()["id"], finished)
    assert view["status"] == "failed"
    assert view["error"]["type"] == "timeout"
    assert "0.2 s" in view["error"]["message"]
    assert assert_job_data_is_json(redis_url, view["id"])["meta"]["error"]["type"] == "timeout"


def test_killed_worker_job_is_retried_then_failed(tiny_checkpoint, redis_url, queue_name, start_worker):
    """SIGKILL mid-job: with a retry left the job is queued again and a new worker finishes it;
    without one it fails as worker_lost. It never stays running."""
    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name, job_retries=1)) as client:
        job_id = client.post("/augment", json=SLOW_JOB).json()["id"]
        first = start_worker(queue_name)
        wait_status(client, job_id, lambda v: v["status"] == "running" and v["attempts"] == 1)
        first.kill()
        view = wait_status(client, job_id, lambda v: v["status"] != "running", timeout_s=60)
        assert view["status"] == "queued" and view["attempts"] == 1
        second = start_worker(queue_name)
        view = wait_status(client, job_id, finished)
        assert view["status"] == "succeeded" and view["attempts"] == 2
        assert len(view["result"]["outputs"]) > 0
        second.stop()

    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name, job_retries=0)) as client:
        job_id = client.post("/augment", json=SLOW_JOB).json()["id"]
        worker = start_worker(queue_name)
        wait_status(client, job_id, lambda v: v["status"] == "running" and v["attempts"] == 1)
        worker.kill()
        view = wait_status(client, job_id, lambda v: v["status"] != "running", timeout_s=60)
    assert view["status"] == "failed"
    assert view["error"]["type"] == "worker_lost"
    assert "JOB_RETRIES" in view["error"]["message"]


def test_a_job_lost_from_redis_does_not_come_back(tiny_checkpoint, redis_url, queue_name, start_worker):
    """The job's record vanishes mid-run (as after a Redis restart without persistence): the worker
    stops it at its next progress write and writes nothing back, so the API keeps answering 404."""
    from redis import Redis

    worker = start_worker(queue_name).wait_registered()
    long_job = {**HUGE_JOB, "decoding": {"rounds": 32}}  # minutes of work on two cores
    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name)) as client:
        lost = client.post("/augment", json=long_job).json()["id"]
        wait_status(client, lost, lambda v: v["status"] == "running")
        redis = Redis.from_url(redis_url)
        assert redis.delete(f"rq:job:{lost}") == 1
        following = client.post("/augment", json={"items": items(1), "n": 1}).json()["id"]
        after = wait_status(client, following, finished, timeout_s=60)  # the worker moved on
        assert after["status"] == "succeeded"
        time.sleep(1.0)
        assert not redis.exists(f"rq:job:{lost}"), redis.hgetall(f"rq:job:{lost}")
        assert client.get(f"/jobs/{lost}").status_code == 404
        assert worker.process.poll() is None
    assert "its outcome is dropped" in worker.log.read_text()


def test_queue_depth_429(tiny_checkpoint, redis_url, queue_name):
    # No worker serves this queue: jobs stay queued.
    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name, max_queue_depth=2)) as client:
        body = {"items": items(1), "n": 1}
        assert client.post("/augment", json=body).status_code == 202
        assert client.post("/augment", json=body, headers={"Idempotency-Key": "k1"}).status_code == 202
        full = client.post("/augment", json=body, headers={"Idempotency-Key": "k2"})
        assert full.status_code == 429
        assert full.json()["error"]["type"] == "queue_full"
        assert full.json()["error"]["details"] == {"depth": 2, "limit": 2}
        # A refused request does not burn its idempotency key.
        job = client.post("/augment", json=body, headers={"Idempotency-Key": "k1"}).json()["id"]
        assert client.post(f"/jobs/{job}/cancel").status_code == 200
        assert client.post("/augment", json=body, headers={"Idempotency-Key": "k2"}).status_code == 202


def test_redis_outage_is_503_then_recovers(tiny_checkpoint, throwaway_redis, queue_name, tmp_path):
    """Redis stops: /readyz and /augment answer 503 saying so (quickly, never hanging), health stays
    up. Redis comes back: the API is ready again without a restart, the job kept from before the outage
    is still there, and the worker that lived through the outage takes new jobs; also when the outage
    cut a job short."""
    worker = WorkerProcess(tiny_checkpoint, throwaway_redis.url, queue_name, tmp_path).wait_registered()
    settings = make_settings(
        tiny_checkpoint, redis_url=throwaway_redis.url, queue_name=queue_name, classify_enabled=False
    )
    try:
        with client_for(settings) as client:
            wait_ready(client)
            before = wait_status(
                client, client.post("/augment", json={"items": items(1), "n": 1}).json()["id"], finished
            )
            assert before["status"] == "succeeded"

            throwaway_redis.stop()
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            error = assert_error(client.get("/readyz"), 503, "not_ready", "Redis does not answer")
            assert error["details"]["queue"] == "unreachable"
            down = client.post("/augment", json={"items": items(1), "n": 1})
            assert_error(down, 503, "unavailable", "Redis", "retry later")
            assert down.headers["retry-after"]
            assert_error(client.get(f"/jobs/{before['id']}"), 503, "unavailable")
            assert_error(client.post(f"/jobs/{before['id']}/cancel"), 503, "unavailable")
            assert client.get("/metrics").status_code == 200  # without the job counts
            assert time.monotonic() - started < 30  # each answer within Redis's connect timeout

            throwaway_redis.start()
            wait_ready(client, timeout_s=30)
            assert client.get(f"/jobs/{before['id']}").json()["status"] == "succeeded"
            after = client.post("/augment", json={"items": items(1), "n": 1})
            assert after.status_code == 202, after.text
            assert wait_status(client, after.json()["id"], finished, timeout_s=90)["status"] == "succeeded"

            # Redis goes away in the middle of a job: the job cannot report its end, rq's work loop
            # ends, and the worker waits for Redis with its model loaded instead of exiting. The job
            # is abandoned, retried (JOB_RETRIES=1) and done: never stuck in "running".
            job = client.post("/augment", json=SLOW_JOB).json()["id"]
            wait_status(client, job, lambda v: v["status"] == "running")
            throwaway_redis.stop()
            time.sleep(8)
            throwaway_redis.start()
            view = wait_status(client, job, finished, timeout_s=120)
            assert view["status"] == "succeeded", view
            log = worker.log.read_text()
            assert worker.process.poll() is None, log
            if view["attempts"] == 2:  # the job ended during the outage (else it ended after it)
                assert "lost Redis" in log and "Redis answers again" in log, log
            last = client.post("/augment", json={"items": items(1), "n": 1}).json()["id"]
            assert wait_status(client, last, finished, timeout_s=90)["status"] == "succeeded"
            assert worker.process.poll() is None
    finally:
        worker.stop()


@pytest.mark.parametrize("classify_enabled", [True, False])
def test_api_loads_only_the_classifier(tiny_checkpoint, redis_url, queue_name, classify_enabled):
    settings = redis_settings(tiny_checkpoint, redis_url, queue_name, classify_enabled=classify_enabled)
    with client_for(settings) as client:
        wait_ready(client)
        models = client.app.state.core.models
        if classify_enabled:
            assert models.runtime.augmenter is None and models.runtime.classifier is not None
            assert (
                client.post("/classify", json={"texts": ["The food was lovely!"]}).json()["model"]
                == "classifier"
            )
        else:
            assert models.runtime is None and models.state == "disabled"


def test_no_worker_is_reported_not_hidden(tiny_checkpoint, redis_url, queue_name, start_worker):
    """Redis mode with no worker on the queue: /readyz says degraded, /augment accepts with a warning."""
    with client_for(redis_settings(tiny_checkpoint, redis_url, queue_name)) as client:
        wait_ready(client)
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["workers"] == 0 and "no worker" in ready.json()["checks"]["warning"]
        accepted = client.post("/augment", json={"items": items(1), "n": 1})
        assert accepted.status_code == 202 and "no worker is serving the queue" in accepted.headers["warning"]
        assert "dcls_workers 0.0" in client.get("/metrics").text
        start_worker(queue_name).wait_registered()
        assert client.get("/readyz").json()["status"] == "ready"
        assert "warning" not in client.post("/augment", json={"items": items(1), "n": 1}).headers
        assert "dcls_workers 1.0" in client.get("/metrics").text

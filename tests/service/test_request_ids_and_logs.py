"""X-Request-ID on every response, and log records that name their request and job (JSON lines)."""

from __future__ import annotations

import json
import logging
import time

from tests.service.conftest import (
    WorkerProcess,
    client_for,
    finished,
    free_port,
    items,
    make_settings,
    wait_status,
)
from worker.logs import ContextFilter, JsonFormatter, log_context


def test_every_response_carries_a_request_id(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        fresh = client.get("/healthz").headers["x-request-id"]
        assert len(fresh) == 32 and fresh != client.get("/healthz").headers["x-request-id"]
        assert client.get("/healthz", headers={"X-Request-ID": "batch-7.row:12"}).headers["x-request-id"] == (
            "batch-7.row:12"
        )
        for bad in ("has space", "x" * 129, "semi;colon"):
            replaced = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
            assert replaced != bad and len(replaced) == 32
        assert "x-request-id" in client.get("/jobs/" + "0" * 32).headers  # errors too


def test_json_records_carry_the_ids():
    record = logging.LogRecord("worker.jobs", logging.INFO, __file__, 1, "augment: %d texts", (3,), None)
    with log_context(request_id="r-1", job_id="j-2"):
        ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "augment: 3 texts" and line["level"] == "INFO"
    assert (line["request_id"], line["job_id"]) == ("r-1", "j-2")
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    ContextFilter().filter(outside)
    assert "request_id" not in json.loads(JsonFormatter().format(outside)) and outside.ids == ""


def test_a_queued_job_logs_its_request_and_job_ids(tiny_checkpoint, redis_url, queue_name, tmp_path):
    worker = WorkerProcess(tiny_checkpoint, redis_url, queue_name, tmp_path, LOG_FORMAT="json")
    try:
        settings = make_settings(tiny_checkpoint, redis_url=redis_url, queue_name=queue_name)
        with client_for(settings) as client:
            accepted = client.post(
                "/augment", json={"items": items(2), "n": 1}, headers={"X-Request-ID": "req-42"}
            )
            job_id = accepted.json()["id"]
            assert accepted.headers["x-request-id"] == "req-42"
            assert wait_status(client, job_id, finished, timeout_s=120)["status"] == "succeeded"
        deadline = time.monotonic() + 10
        while "augment done" not in worker.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    lines = [json.loads(line) for line in worker.log.read_text().splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    mine = [line for line in lines if line.get("job_id") == job_id]
    assert any(line["message"].startswith("augment done") for line in mine), lines
    assert all(line["request_id"] == "req-42" for line in mine)


def test_a_worker_exports_its_own_metrics(tiny_checkpoint, redis_url, queue_name, tmp_path):
    import httpx

    port = free_port()
    worker = WorkerProcess(tiny_checkpoint, redis_url, queue_name, tmp_path, METRICS_PORT=str(port))
    try:
        settings = make_settings(tiny_checkpoint, redis_url=redis_url, queue_name=queue_name)
        with client_for(settings) as client:
            job_id = client.post("/augment", json={"items": items(3), "n": 2}).json()["id"]
            assert wait_status(client, job_id, finished, timeout_s=120)["status"] == "succeeded"
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        worker.stop()
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values['dcls_worker_jobs_total{method="diffusioncls",status="succeeded"}'] == 1.0, text
    assert values['dcls_worker_job_seconds_count{method="diffusioncls",status="succeeded"}'] == 1.0
    assert not any(name.endswith("_created") or "_created{" in name for name in values)
    assert values["dcls_worker_outputs_total"] == 6.0
    # decoding throughput: chains decoded (at least one per output) over the seconds spent decoding
    assert values["dcls_worker_decoded_chains_total"] >= 6 and values["dcls_worker_decode_seconds_total"] > 0
    assert values['dcls_worker_job_seconds_sum{method="diffusioncls",status="succeeded"}'] > 0
    assert (
        values["dcls_worker_rss_bytes"] > 50e6
        and values["dcls_worker_peak_rss_bytes"] >= values["dcls_worker_rss_bytes"]
    )
    assert values["dcls_worker_busy"] == 0.0

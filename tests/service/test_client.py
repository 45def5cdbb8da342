"""The typed client and the bulk CSV command, against a real API process, real Redis and real workers."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from service.client import ApiError, Client
from tests.service.conftest import REPO, ApiProcess, items


@pytest.fixture
def queued_api(tiny_checkpoint, redis_url, queue_name, tmp_path):
    api = ApiProcess(
        tiny_checkpoint, tmp_path / "api.log", REDIS_URL=redis_url, QUEUE_NAME=queue_name, JOB_RETRIES="1"
    )
    yield api
    api.stop()


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def bulk(api, source, out, *extra):
    command = [sys.executable, "-m", "service.client", "augment", str(source), "--url", api.url]
    command += ["--out", str(out), *extra]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parts_done(out):
    return len(list(out.with_name(out.name + ".parts").glob("chunk-*.json")))


def wait_for(condition, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_client_round_trip_and_typed_errors(queued_api, start_worker, queue_name):
    start_worker(queue_name)
    queued_api.wait_ready()
    with Client(queued_api.url) as client:
        assert client.info()["model"]["labels"] == ["anger", "joy", "sad"]
        source = items(3)
        job = client.augment([(i["text"], i["label"]) for i in source], n=2, seed=4)
        result = client.wait(job, timeout_s=120)
        assert result.status == "succeeded" and len(result.outputs) == 6
        assert sorted(o.source_index for o in result.outputs) == [0, 0, 1, 1, 2, 2]
        assert all(o.label == source[o.source_index]["label"] for o in result.outputs)
        assert all(0 <= (o.label_prob or 0) <= 1 for o in result.outputs)
        assert len(client.classify(["What a day"])) == 1
        with pytest.raises(ApiError) as refused:
            client.augment([("a text", "no-such-label")], n=1)
        assert refused.value.status == 422 and "no-such-label" in refused.value.message
        with pytest.raises(ApiError) as missing:
            client.job("0" * 32)
        assert missing.value.status == 404 and missing.value.kind == "not_found"


def test_bulk_csv_survives_a_killed_worker_and_keeps_input_order(
    queued_api, start_worker, queue_name, tmp_path
):
    workers = [start_worker(queue_name), start_worker(queue_name)]
    queued_api.wait_ready()
    source_rows = items(60)
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, source_rows)
    client = bulk(
        queued_api, source, out, "--n", "4", "--chunk-size", "4", "--in-flight", "4", "--rounds", "16"
    )
    wait_for(lambda: parts_done(out) >= 2 or client.poll() is not None)
    workers[0].kill()  # mid-run: its job is found abandoned and retried on the other worker
    stdout, stderr = client.communicate(timeout=300)
    assert client.returncode == 0, stderr
    rows = read_csv(out)
    assert len(rows) == 60 * 4, stderr
    order = [int(r["source_index"]) for r in rows]
    assert order == sorted(order)
    assert Counter(order) == dict.fromkeys(range(60), 4)
    assert all(r["label"] == source_rows[int(r["source_index"])]["label"] for r in rows)
    assert not out.with_name("out.csv.parts").exists()  # a finished run leaves only its output


def test_an_interrupted_bulk_run_resumes_without_redoing_finished_chunks(
    queued_api, start_worker, queue_name, tmp_path
):
    start_worker(queue_name)
    queued_api.wait_ready()
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, items(40))
    args = ("--n", "3", "--chunk-size", "4", "--in-flight", "1", "--rounds", "16")
    first = bulk(queued_api, source, out, *args)
    wait_for(lambda: parts_done(out) >= 2 or first.poll() is not None)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    finished = parts_done(out)
    assert 2 <= finished < 10 and not out.exists()
    second = bulk(queued_api, source, out, *args)
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    summary = json.loads(stderr.strip().splitlines()[-2])
    assert summary["resumed_chunks"] >= finished and summary["outputs"] == 40 * 3
    assert [int(r["source_index"]) for r in read_csv(out)] == [i for i in range(40) for _ in range(3)]

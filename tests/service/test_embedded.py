"""The API in embedded mode (no REDIS_URL): jobs run in-process with the real job function."""

from __future__ import annotations

import threading

import pytest

from tests.service.conftest import (
    HUGE_JOB,
    client_for,
    finished,
    items,
    make_settings,
    wait_ready,
    wait_status,
)


@pytest.fixture(scope="module")
def embedded(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint)) as client:
        wait_ready(client)
        yield client


def test_job_lifecycle_queued_to_succeeded_with_result(embedded):
    body = {"items": items(3), "n": 2, "seed": 5}
    response = embedded.post("/augment", json=body)
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert response.headers["location"] == f"/jobs/{job_id}"
    assert response.json()["status"] == "queued"

    view = wait_status(embedded, job_id, finished)
    assert view["status"] == "succeeded", view
    assert view["attempts"] == 1
    assert view["progress"] == {"done": 6, "total": 6}
    result = view["result"]
    assert result["method"] == "diffusioncls"
    assert len(result["outputs"]) + sum(s["requested"] - s["produced"] for s in result["shortfalls"]) == 6
    for out in result["outputs"]:
        assert out["label"] == body["items"][out["source_index"]]["label"]
        assert out["text"] != body["items"][out["source_index"]]["text"]
        assert 0.0 <= out["label_prob"] <= 1.0  # the proxy scores every output (no task classifier here)
        assert out["predicted_label"] in ("joy", "anger", "sad")
        assert {"seed", "chain", "step", "rounds", "mask_ratio", "masked_positions"} <= set(out["provenance"])
        assert out["provenance"]["seed"] == 5
    assert result["stats"]["requested"] == 6

    # The same seed and request give the same outputs.
    again = wait_status(embedded, embedded.post("/augment", json=body).json()["id"], finished)
    assert [o["text"] for o in again["result"]["outputs"]] == [o["text"] for o in result["outputs"]]


def test_request_settings_reach_the_sampler(embedded):
    body = {
        "items": items(2),
        "n": 1,
        "steps": "group:2",
        "decoding": {"rounds": 1, "temperature": 0.5, "top_k": 5},
    }
    view = wait_status(embedded, embedded.post("/augment", json=body).json()["id"], finished)
    assert view["status"] == "succeeded", view
    for out in view["result"]["outputs"]:
        assert 5 <= out["provenance"]["step"] <= 8
        assert out["provenance"]["rounds"] == 1


def test_balance_policy_tops_up_minority_classes(embedded):
    rows = items(12)
    majority = rows[0]["label"]
    body = {
        "items": [r for r in rows if r["label"] == majority][:3]
        + [r for r in rows if r["label"] != majority][:1],
        "policy": "bd",
    }
    view = wait_status(embedded, embedded.post("/augment", json=body).json()["id"], finished)
    assert view["status"] == "succeeded", view
    made = len(view["result"]["outputs"]) + sum(
        s["requested"] - s["produced"] for s in view["result"]["shortfalls"] if s["source_index"] == -1
    )
    assert made >= 2  # the single minority text is topped up towards the majority's 3
    assert all(o["label"] != majority for o in view["result"]["outputs"])


def test_cancel_a_running_job(embedded):
    job_id = embedded.post("/augment", json=HUGE_JOB).json()["id"]
    wait_status(embedded, job_id, lambda v: v["status"] != "queued")
    response = embedded.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 202 and response.json()["status"] == "running"
    assert response.json()["cancel_requested"] is True
    view = wait_status(embedded, job_id, finished)
    assert view["status"] == "canceled" and view["result"] is None
    assert embedded.post(f"/jobs/{job_id}/cancel").status_code == 200  # canceling twice is harmless


def test_cancel_a_queued_job_and_finished_jobs_conflict(tiny_checkpoint):
    gate = threading.Event()

    def blocked(payload):  # holds the single job thread so the next job stays queued
        gate.wait(30)
        return {
            "method": payload["method"],
            "outputs": [],
            "shortfalls": [],
            "stats": {"requested": 0, "produced": 0},
        }

    with client_for(make_settings(tiny_checkpoint), job_function=blocked) as client:
        wait_ready(client)
        first = client.post("/augment", json={"items": items(1), "n": 1}).json()["id"]
        second = client.post("/augment", json={"items": items(1), "n": 1}).json()["id"]
        response = client.post(f"/jobs/{second}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] == "canceled"
        gate.set()
        assert wait_status(client, first, finished)["status"] == "succeeded"
        assert client.get(f"/jobs/{second}").json()["status"] == "canceled"
        conflict = client.post(f"/jobs/{first}/cancel")
        assert conflict.status_code == 409
        assert conflict.json()["error"]["type"] == "conflict"


def test_queue_depth_429(tiny_checkpoint):
    gate = threading.Event()

    def blocked(payload):
        gate.wait(30)
        return {
            "method": payload["method"],
            "outputs": [],
            "shortfalls": [],
            "stats": {"requested": 0, "produced": 0},
        }

    with client_for(make_settings(tiny_checkpoint, max_queue_depth=1), job_function=blocked) as client:
        wait_ready(client)
        body = {"items": items(1), "n": 1}
        running = client.post("/augment", json=body).json()["id"]
        wait_status(client, running, lambda v: v["status"] == "running")
        assert client.post("/augment", json=body).status_code == 202  # queued: depth 1
        full = client.post("/augment", json=body)
        assert full.status_code == 429
        assert full.json()["error"]["type"] == "queue_full"
        assert "MAX_QUEUE_DEPTH" in full.json()["error"]["message"]
        assert full.headers["retry-after"]
        gate.set()


def test_job_timeout_fails_the_job(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint, job_timeout_s=0.2)) as client:
        wait_ready(client)
        view = wait_status(client, client.post("/augment", json=HUGE_JOB).json()["id"], finished)
    assert view["status"] == "failed"
    assert view["error"]["type"] == "timeout"
    assert "JOB_TIMEOUT_S" in view["error"]["message"]


def test_idempotency_key(embedded):
    body = {"items": items(2), "n": 1, "seed": 11}
    first = embedded.post("/augment", json=body, headers={"Idempotency-Key": "order-42"})
    again = embedded.post("/augment", json=body, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = embedded.post("/augment", json=body, headers={"Idempotency-Key": "order-43"})
    assert other.json()["id"] != first.json()["id"]
    changed = embedded.post("/augment", json={**body, "seed": 12}, headers={"Idempotency-Key": "order-42"})
    assert changed.status_code == 409 and changed.json()["error"]["type"] == "conflict"
    assert "Idempotency-Key" in changed.json()["error"]["message"]


def test_classify(embedded):
    response = embedded.post("/classify", json={"texts": ["The movie was great today!", "My day was awful!"]})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "classifier"  # the tiny checkpoint has a task classifier
    assert len(body["results"]) == 2
    for result in body["results"]:
        assert set(result["probabilities"]) == {"anger", "joy", "sad"}
        assert abs(sum(result["probabilities"].values()) - 1) < 1e-3
        assert result["label"] == max(result["probabilities"], key=result["probabilities"].get)


def test_info_health_and_metrics(embedded):
    assert embedded.get("/healthz").json() == {"status": "alive"}
    ready = embedded.get("/readyz").json()
    assert ready["status"] == "ready" and ready["checks"]["mode"] == "embedded"
    info = embedded.get("/info").json()
    assert info["mode"] == "embedded"
    assert info["model"]["labels"] == ["anger", "joy", "sad"]
    assert info["model"]["classify_with"] == "classifier"
    assert "diffusioncls" in info["methods"]
    assert info["limits"]["max_items"] == 256
    metrics = embedded.get("/metrics")
    assert metrics.status_code == 200
    assert 'dcls_http_requests_total{method="GET",route="/info",status="200"}' in metrics.text
    assert "dcls_jobs{" in metrics.text
    assert embedded.get("/docs").status_code == 200
    assert "/augment" in embedded.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("method", "params"),
    [("eda", {"alpha": 0.2}), ("aeda", {}), ("mlm_substitution", {"p": 0.3}), ("resample", {})],
)
def test_classic_methods_run_as_jobs_and_are_scored(embedded, method, params):
    body = {"items": items(2), "n": 2, "seed": 3, "method": method, "params": params}
    view = wait_status(embedded, embedded.post("/augment", json=body).json()["id"], finished)
    assert view["status"] == "succeeded", view
    result = view["result"]
    assert result["method"] == method and len(result["outputs"]) == 4
    for out in result["outputs"]:
        assert out["provenance"]["method"] == method
        assert 0.0 <= out["label_prob"] <= 1.0 and out["predicted_label"] in ("joy", "anger", "sad")
        if method != "resample":
            assert out["text"] != body["items"][out["source_index"]]["text"]


def test_classic_method_parameters_are_checked_before_queueing(embedded):
    response = embedded.post("/augment", json={"items": items(1), "method": "eda", "params": {"alpha": 2}})
    assert response.status_code == 422
    assert "bad parameter alpha=2 for method 'eda'" in response.json()["error"]["message"]
    response = embedded.post("/augment", json={"items": items(1), "method": "aeda", "params": {"rate": 0.1}})
    assert (
        response.status_code == 422
        and "accepted: ratio, tries_per_output" in response.json()["error"]["message"]
    )


def test_the_label_filter_through_the_api(tiny_checkpoint):
    from tests.service.conftest import client_for, finished, items, make_settings, wait_ready, wait_status

    with client_for(make_settings(tiny_checkpoint)) as client:
        wait_ready(client)
        body = {"items": items(3), "n": 2, "seed": 1, "min_label_prob": 0.6}
        view = wait_status(client, client.post("/augment", json=body).json()["id"], finished)
        assert view["status"] == "succeeded"
        outputs = view["result"]["outputs"]
        assert len(outputs) == 6
        # each output reaches the bar, or is flagged as the best that did not
        assert all(o["label_prob"] >= 0.6 or o["provenance"].get("below_min_label_prob") for o in outputs)
        refused = client.post("/augment", json={"items": items(1), "method": "eda", "min_label_prob": 0.5})
        assert refused.status_code == 422 and "min_label_prob" in refused.json()["error"]["message"]
        assert client.post("/augment", json={**body, "min_label_prob": 1.0}).status_code == 422


def test_a_request_without_min_label_prob_gets_the_filter_fit_used(tiny_checkpoint, tmp_path):
    """The checkpoint records the label filter `fit` used (0.5 under the quick budget); a diffusioncls
    request that leaves min_label_prob out gets it, 0 turns it off, a classic method never has one."""
    import json
    import shutil

    from tests.service.conftest import client_for, finished, items, make_settings, wait_ready, wait_status
    from training.checkpoint_format import SETTINGS_FILE

    folder = tmp_path / "checkpoint"
    shutil.copytree(tiny_checkpoint, folder)
    body = json.loads((folder / SETTINGS_FILE).read_text())
    assert body["sampler"]["min_label_prob"] == 0.0  # the fixture's fit: no filter
    body["sampler"]["min_label_prob"] = 0.9  # over what the near-uniform tiny classifier gives anything
    (folder / SETTINGS_FILE).write_text(json.dumps(body))
    with client_for(make_settings(folder)) as client:
        wait_ready(client)
        assert client.get("/info").json()["defaults"]["min_label_prob"] == 0.9
        assert "min_label_prob" not in client.get("/info").json()["defaults"]["decoding"]

        def flags(request: dict) -> list[bool]:
            view = wait_status(client, client.post("/augment", json=request).json()["id"], finished)
            assert view["status"] == "succeeded", view
            outputs = view["result"]["outputs"]
            assert len(outputs) == 6
            return [bool(o["provenance"].get("below_min_label_prob")) for o in outputs]

        request = {"items": items(3), "n": 2, "seed": 1}
        assert all(flags(request))  # the checkpoint's 0.9: topped up, then flagged
        assert not any(flags({**request, "min_label_prob": 0}))
        assert not any(flags({**request, "method": "eda"}))

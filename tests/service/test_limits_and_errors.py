"""The body cap on streamed bodies, the API key and readiness; embedded mode.

Bad input (every refused request, its status and its message) is one table in test_bad_input.py."""

from __future__ import annotations

import json

import pytest

from tests.service.conftest import assert_error, client_for, items, make_settings, wait_ready

LIMITS = {"max_body_bytes": 2_000}


@pytest.fixture(scope="module")
def limited(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint, **LIMITS)) as client:
        wait_ready(client)
        yield client


def test_body_streamed_in_chunks_within_the_cap_is_accepted(limited):
    """A body without Content-Length is counted as it arrives: 413 once past the cap, handed to the app
    unchanged within it (10 MB bodies, declared or streamed: test_bad_input.py)."""
    big = json.dumps({"items": [{"text": "x" * 3_000, "label": "joy"}]}).encode()
    headers = {"content-type": "application/json"}

    def chunks():
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    assert_error(
        limited.post("/augment", content=chunks(), headers=headers), 413, "too_large", "MAX_BODY_BYTES"
    )
    small = json.dumps({"items": items(1), "n": 1}).encode()

    def small_chunks():
        yield small[:10]
        yield small[10:]

    assert limited.post("/augment", content=small_chunks(), headers=headers).status_code == 202


def test_api_key(tiny_checkpoint):
    key = "k" * 24
    with client_for(make_settings(tiny_checkpoint, api_key=key)) as client:
        wait_ready(client)  # health needs no key
        assert client.get("/healthz").status_code == 200
        body = {"items": items(1), "n": 1}
        for route in ("/info", "/metrics"):
            assert_error(client.get(route), 401, "unauthorized", "X-API-Key")
        assert_error(client.post("/augment", json=body), 401, "unauthorized")
        assert_error(client.post("/augment", json=body, headers={"X-API-Key": "k" * 23}), 401, "unauthorized")
        assert_error(client.post("/classify", json={"texts": ["hi"]}), 401, "unauthorized")
        accepted = client.post("/augment", json=body, headers={"X-API-Key": key})
        assert accepted.status_code == 202
        job = accepted.json()["id"]
        assert_error(client.get(f"/jobs/{job}"), 401, "unauthorized")
        assert client.get(f"/jobs/{job}", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/info", headers={"X-API-Key": key}).json()["auth"] is True
        assert key not in client.get("/metrics", headers={"X-API-Key": key}).text


def test_short_api_key_is_refused_at_start(tiny_checkpoint):
    with pytest.raises(ValueError, match="API_KEY must be at least 16"):
        make_settings(tiny_checkpoint, api_key="short")


def test_readiness_before_and_after_loading(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        assert client.get("/healthz").status_code == 200
        error = assert_error(client.get("/readyz"), 503, "not_ready", "models are pending")
        assert error["details"]["models"] == "pending"
        assert_error(client.post("/augment", json={"items": items(1)}), 503, "not_ready", "loading")
        assert_error(client.post("/classify", json={"texts": ["hi"]}), 503, "not_ready", "loading")
        client.app.state.core.models.load_now()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["models"] == "ready"
        assert client.post("/classify", json={"texts": ["hi"]}).status_code == 200


def test_missing_checkpoint_fails_fast(tmp_path):
    from worker.checkpoint_info import CheckpointInfoError

    with pytest.raises(CheckpointInfoError, match="CHECKPOINT_DIR"):
        client_for(make_settings(tmp_path)).__enter__()

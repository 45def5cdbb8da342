"""Limits, error bodies, the API key and readiness; embedded mode unless a test needs Redis."""

from __future__ import annotations

import json

import pytest

from tests.service.conftest import client_for, items, make_settings, wait_ready

LIMITS = {
    "max_items": 3,
    "max_text_chars": 60,
    "max_n": 3,
    "max_body_bytes": 2_000,
    "max_classify_texts": 2,
}


@pytest.fixture(scope="module")
def limited(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint, **LIMITS)) as client:
        wait_ready(client)
        yield client


def assert_error(response, status: int, kind: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "details"}
    assert body["error"]["type"] == kind
    for word in words:
        assert word in body["error"]["message"], body["error"]["message"]
    return body["error"]


def test_too_many_items_413(limited):
    assert_error(limited.post("/augment", json={"items": items(4), "n": 1}), 413, "too_large", "MAX_ITEMS")


def test_text_too_long_422(limited):
    body = {"items": [{"text": "word " * 20, "label": "joy"}], "n": 1}
    error = assert_error(limited.post("/augment", json=body), 422, "invalid_request", "MAX_TEXT_CHARS")
    assert error["details"]["items"] == [0]


def test_n_over_limit_422(limited):
    assert_error(limited.post("/augment", json={"items": items(1), "n": 4}), 422, "invalid_request", "MAX_N")


def test_body_over_limit_413_before_parsing(limited):
    big = json.dumps({"items": [{"text": "x" * 3_000, "label": "joy"}]}).encode()
    headers = {"content-type": "application/json"}
    assert_error(limited.post("/augment", content=big, headers=headers), 413, "too_large", "MAX_BODY_BYTES")

    def chunks():  # no Content-Length: the cap counts the streamed bytes
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    assert_error(limited.post("/augment", content=chunks(), headers=headers), 413, "too_large")
    small = json.dumps({"items": items(1), "n": 1}).encode()

    def small_chunks():
        yield small[:10]
        yield small[10:]

    assert limited.post("/augment", content=small_chunks(), headers=headers).status_code == 202


def test_unknown_label_lists_the_known_ones(limited):
    body = {"items": [{"text": "What a day", "label": "surprise"}], "n": 1}
    error = assert_error(limited.post("/augment", json=body), 422, "invalid_request", "surprise", "anger")
    assert error["details"] == {"unknown": ["surprise"], "known": ["anger", "joy", "sad"]}


def test_unknown_method_lists_the_supported_ones(limited):
    body = {"items": items(1), "method": "gpt-magic"}
    error = assert_error(
        limited.post("/augment", json=body), 422, "invalid_request", "gpt-magic", "diffusioncls"
    )
    assert "diffusioncls" in error["details"]["supported"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"steps": "40-50"}, ("1 <= low <= high <= 32",)),
        ({"steps": "soon"}, ("13-16",)),
        ({"policy": "bd", "n": 2}, ("policy 'ge'",)),
        ({"params": {"alpha": 0.1}}, ("no params",)),
        ({"decoding": {"top_p": 0}}, ("decoding.top_p",)),
        ({"decoding": {"rounds": 0}}, ("decoding.rounds",)),
        ({"seed": -1}, ("seed",)),
        ({"surprise": 1}, ("surprise",)),
        ({"items": []}, ("items",)),
    ],
)
def test_invalid_values_422(limited, change, words):
    body = {"items": items(1), "n": 1, **change}
    assert_error(limited.post("/augment", json=body), 422, "invalid_request", *words)


def test_malformed_json_and_unknown_routes(limited):
    bad = limited.post("/augment", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(bad, 422, "invalid_request", "not valid JSON")
    assert_error(limited.get("/nowhere"), 404, "not_found", "/docs")
    assert_error(
        limited.get("/jobs/0123456789abcdef0123456789abcdef"), 404, "not_found", "unknown", "expired"
    )
    assert_error(limited.get("/jobs/not-an-id"), 404, "not_found")
    assert_error(limited.delete("/jobs/0123456789abcdef0123456789abcdef"), 404, "not_found")
    assert_error(limited.put("/augment", json={}), 405, "method_not_allowed")


def test_classify_limits(limited):
    assert_error(
        limited.post("/classify", json={"texts": ["a", "b", "c"]}), 413, "too_large", "MAX_CLASSIFY_TEXTS"
    )
    error = assert_error(
        limited.post("/classify", json={"texts": ["fine", "  "]}), 422, "invalid_request", "empty"
    )
    assert error["details"]["empty"] == [1]
    assert_error(
        limited.post("/classify", json={"texts": ["y" * 61]}), 422, "invalid_request", "MAX_TEXT_CHARS"
    )
    assert_error(limited.post("/classify", json={"texts": []}), 422, "invalid_request")


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

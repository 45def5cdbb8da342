"""Security: the API key (constant-time compare, never logged or echoed), the body cap before parsing,
no pickle on the queue, and model or data paths only from settings, never from requests.

Elsewhere: which routes need the key (test_limits_and_errors.py), bad keys and a server folder in
params (test_bad_input.py), raw job records in Redis read back as JSON (test_redis_queue.py).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import REPO, ApiProcess, assert_error, client_for, items, make_settings

KEY = "s3cret-key-for-the-log-test-0123"
WRONG = "wrong-key-that-someone-typed-4567"


# ------------------------------------------------------------------------------------------------
# The API key


def test_keys_are_never_logged(tiny_checkpoint, tmp_path):
    """A real `python -m service` (uvicorn, its access log, DEBUG level) serves authorised and refused
    requests; neither the key nor a wrong key appears in anything it writes."""
    log_path = tmp_path / "api.log"
    api = ApiProcess(tiny_checkpoint, log_path, API_KEY=KEY, LOG_LEVEL="DEBUG")
    try:
        api.wait_ready()
        base = api.url
        good = {"X-API-Key": KEY}
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/info", headers=good).status_code == 200
            assert http.get("/metrics", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
            assert http.post("/classify", json={"texts": ["What a day"]}, headers=good).status_code == 200
            job = http.post("/augment", json={"items": items(1), "n": 1}, headers=good)
            assert job.status_code == 202
            assert http.get(f"/jobs/{job.json()['id']}", headers=good).status_code == 200
            assert http.post("/augment", json={"items": []}, headers=good).status_code == 422
            assert http.get("/nowhere", headers=good).status_code == 404
            assert http.get("/info", headers={"X-API-Key": WRONG}).status_code == 401
            assert (
                http.post("/augment", json={}, headers={"Authorization": f"Bearer {WRONG}"}).status_code
                == 401
            )
            big = b"x" * 2_000_000
            response = http.post(
                "/augment", content=big, headers={**good, "content-type": "application/json"}
            )
            assert response.status_code == 413
    finally:
        api.stop()
    output = log_path.read_text()
    assert '"GET /info HTTP/1.1" 200' in output and '"GET /info HTTP/1.1" 401' in output, output  # access log
    assert "DEBUG" in output, output
    assert KEY not in output and WRONG not in output


@pytest.mark.parametrize(
    ("command", "env", "secret"),
    [
        ("service", {"API_KEY": "short-secret-1"}, "short-secret-1"),
        ("service", {"REDIS_URL": "http://user:hunter2-secret@redis:6379/0"}, "hunter2-secret"),
        ("worker", {"REDIS_URL": "http://user:hunter2-secret@redis:6379/0"}, "hunter2-secret"),
    ],
)
def test_refused_settings_are_not_echoed(command, env, secret, tmp_path):
    full_env = dict(os.environ, PYTHONPATH=str(REPO), CHECKPOINT_DIR=str(tmp_path), **env)
    done = subprocess.run(
        [sys.executable, "-m", command], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert list(env)[0].lower() in done.stderr.lower()  # the message names the variable
    assert secret not in done.stdout + done.stderr


def test_the_key_is_compared_in_constant_time(tiny_checkpoint, monkeypatch):
    import hmac

    import service.deps

    calls = []
    compare = hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return compare(a, b)

    monkeypatch.setattr(service.deps.hmac, "compare_digest", spy)
    with client_for(make_settings(tiny_checkpoint, api_key=KEY), load_models=False) as client:
        assert_error(client.get("/info", headers={"X-API-Key": WRONG}), 401, "unauthorized")
        assert calls == [(bytes, bytes)]
        assert client.get("/info", headers={"X-API-Key": KEY}).status_code == 200
        assert len(calls) == 2
        # A key with bytes outside ASCII is a wrong key, not a server error.
        odd = client.get("/info", headers={"X-API-Key": "cl\xe9-\xff".encode("latin-1")})
        assert_error(odd, 401, "unauthorized")
        assert KEY not in client.get("/info", headers={"X-API-Key": KEY}).text


# ------------------------------------------------------------------------------------------------
# The body cap


def _call(app, scope_headers: list[tuple[bytes, bytes]], receive) -> list[dict]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/augment",
        "raw_path": b"/augment",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *scope_headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return sent


def test_the_body_cap_reads_nothing_past_the_limit(tiny_checkpoint):
    """At the ASGI level: a declared Content-Length over MAX_BODY_BYTES is refused without reading a
    byte; a body without one is read only up to the limit."""
    from service.app import create_app

    app = create_app(make_settings(tiny_checkpoint, max_body_bytes=10_000), load_models=False)

    async def never(*_):
        raise AssertionError("the body was read")

    sent = _call(app, [(b"content-length", str(10 * 1024 * 1024).encode())], never)
    assert sent[0]["status"] == 413 and b"MAX_BODY_BYTES" in sent[1]["body"]

    reads = 0

    async def endless():
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 4096, "more_body": True}

    sent = _call(app, [], endless)
    assert sent[0]["status"] == 413
    assert reads == 3  # 3 x 4096 bytes pass 10 000: no more is read


# ------------------------------------------------------------------------------------------------
# No pickle on the queue

QUEUE_CALLS = {"Queue", "Job.fetch", "Job.create", "ModelWorker", "SimpleWorker", "Worker"}


def _calls_without_serializer(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name in QUEUE_CALLS and not any(k.arg == "serializer" for k in node.keywords):
            missing.append(f"{path.relative_to(REPO)}:{node.lineno} {name}(...)")
    return missing


def test_no_pickle_anywhere_on_the_queue():
    """No module of the service or the worker imports pickle (or a relative of it), and every rq
    queue, job fetch and worker they build names a serializer; the one they name is JSON."""
    files = sorted((REPO / "service").rglob("*.py")) + sorted((REPO / "worker").rglob("*.py"))
    banned = {"pickle", "cPickle", "cloudpickle", "dill", "joblib"}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & banned, f"{path}: imports {names}"
    missing = [m for path in files for m in _calls_without_serializer(path)]
    assert not missing, f"rq objects built without a serializer (rq's default is pickle): {missing}"
    for path in (REPO / "service" / "queue" / "redis_backend.py", REPO / "worker" / "main.py"):
        assert re.search(r"serializer=JSONSerializer", path.read_text(encoding="utf-8")), path

    from rq.serializers import JSONSerializer

    from service.queue import JobSettings, RedisBackend

    backend = RedisBackend("redis://127.0.0.1:1/0", "q", JobSettings(1, 1, 1, 0, 1))  # connects lazily
    assert backend.queue.serializer is JSONSerializer
    assert backend.queue.started_job_registry.serializer is JSONSerializer  # the reaper's
    backend.close()


# ------------------------------------------------------------------------------------------------
# Model and data paths only from settings

_PATHLIKE = re.compile(r"path|dir|folder|file|checkpoint|model|base|url", re.IGNORECASE)


def _property_names(schema: dict, defs: dict) -> set[str]:
    names: set[str] = set()
    for key, value in schema.get("properties", {}).items():
        names.add(key)
        names |= _property_names(defs.get(value.get("$ref", "").rsplit("/", 1)[-1], {}), defs)
    return names


def test_requests_have_no_field_for_a_path_or_a_model():
    from service.schemas import AugmentRequest, ClassifyRequest

    for model in (AugmentRequest, ClassifyRequest):
        schema = model.model_json_schema()
        names = _property_names(schema, schema.get("$defs", {}))
        assert not {n for n in names if _PATHLIKE.search(n)}, names
        assert model.model_config.get("extra") == "forbid"  # nothing else gets through


def test_no_classic_parameter_names_a_file_from_a_request():
    """Every method parameter that may name a folder, file or URL on the command line is limited to
    fixed words when it comes from a request (a new one must be added to worker.methods)."""
    from training.augmenters.registry import PARAMS
    from worker import methods

    pathlike = {
        (name, key)
        for name, spec in PARAMS.items()
        for key, param in spec.items()
        if re.search(r"folder|file|path|director|url", param.describe, re.IGNORECASE)
    }
    assert pathlike == set(methods._REQUEST_VALUES)
    for name, key in pathlike:
        with pytest.raises(ValueError, match="server's settings"):
            methods.check_classic_params(name, {key: "/etc"})
        with pytest.raises(ValueError, match="server's settings"):  # and the worker checks again
            methods.build_classic(name, {key: "/etc"}, checkpoint=None, device="cpu")


def test_a_model_path_in_a_request_or_a_payload_is_refused(tiny_checkpoint):
    from pydantic import ValidationError

    from worker.contracts import AugmentPayload

    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        for change in (
            {"checkpoint_dir": "/etc"},
            {"model": "/tmp/evil"},
            {"method": "mlm_substitution", "params": {"base": "/tmp/evil"}},
        ):
            response = client.post("/augment", json={"items": items(1), **change})
            assert_error(response, 422, "invalid_request")
        assert client.app.state.core.backend.counts()["queued"] == 0
    with pytest.raises(ValidationError, match="checkpoint_dir"):
        AugmentPayload.model_validate(
            {"method": "eda", "texts": ["a"], "labels": ["joy"], "checkpoint_dir": "/etc"}
        )


def test_a_served_checkpoint_path_is_not_disclosed(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        info = client.get("/info").text
        assert str(tiny_checkpoint) not in info and str(tiny_checkpoint.parent) not in info


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_a_request_trickled_in_slowly_is_cut_off_with_408(tiny_checkpoint, tmp_path, parser):
    """uvicorn resets its keep-alive timer on every byte, so without the request deadline a client
    sending a byte at a time (slowloris) holds the connection for as long as it likes; with either
    HTTP parser."""
    import socket
    import time

    log_path = tmp_path / "api.log"
    api = ApiProcess(tiny_checkpoint, log_path, REQUEST_READ_TIMEOUT_S="1.5", HTTP_PARSER=parser)
    try:
        api.wait_ready()

        def trickle(head: bytes) -> tuple[bytes, float]:
            """Send `head` a byte every 0.2 s; return what the server answered and when it hung up."""
            sock = socket.create_connection(("127.0.0.1", api.port), timeout=10)
            started = time.monotonic()
            try:
                for byte in head:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.2)
            except OSError:
                pass  # the server closed the connection mid-request, as it should
            answer = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(4096):
                    answer += chunk
            sock.close()
            return answer, time.monotonic() - started

        head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"p" * 40 + b"\r\n\r\n"
        answer, elapsed = trickle(head)  # 60+ bytes at 5 per second: 12 s if never cut off
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'"type": "request_timeout"' in answer
        assert elapsed < 6, elapsed
        body_head = (
            b"POST /classify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n"
        )
        sock = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        sock.sendall(body_head + b'{"texts": [')  # headers whole, then the body stalls
        started = time.monotonic()
        assert sock.recv(4096) == b""  # closed without an answer: the app had the request
        assert time.monotonic() - started < 5
        sock.close()
        # a prompt client on a kept-alive connection is not affected by pauses between its requests
        with httpx.Client(base_url=api.url, timeout=10) as http:
            assert http.get("/healthz").status_code == 200
            time.sleep(2)  # longer than the deadline, shorter than uvicorn's keep-alive timeout
            assert http.get("/healthz").status_code == 200
            assert http.post("/classify", json={"texts": ["What a day"]}).status_code == 200
    finally:
        api.stop()
    assert "request headers not received within 1.5 s" in log_path.read_text()


@pytest.mark.parametrize(
    ("command", "variables"),
    [("service", ["API_KEY", "PORT", "REDIS_URL"]), ("worker", ["REDIS_URL", "QUEUE_NAME"])],
)
def test_help_lists_the_settings_and_starts_nothing(command, variables, tmp_path):
    # CHECKPOINT_DIR points at an empty folder: without --help the service would refuse it (exit 2)
    env = dict(os.environ, PYTHONPATH=str(REPO), CHECKPOINT_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", command, "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"usage: python -m {command}")
    for variable in variables:
        assert f"\n  {variable} " in done.stdout
    if command == "worker":
        assert "API_KEY" not in done.stdout  # the API's own settings are not the worker's


def test_a_refused_setting_is_one_line_naming_it():
    from pydantic import ValidationError

    from worker.settings import WorkerSettings, describe_settings_error

    with pytest.raises(ValidationError) as caught:
        WorkerSettings(device="gpu", heartbeat_s=0)
    lines = describe_settings_error(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("  DEVICE: ") and "cuda:N" in lines[0]
    assert lines[1].startswith("  HEARTBEAT_S: ")
    assert "errors.pydantic.dev" not in "\n".join(lines)

"""Fixtures of the service tests: a real Redis database (flushed before and after), real worker
processes started with `python -m worker`, and apps built on the tiny checkpoint."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import english_corpus

REPO = Path(__file__).resolve().parents[2]
REDIS_DB = 13
REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
HEARTBEAT_S = 1.0  # a killed worker's job is found abandoned after 3 s


def redis_available() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if not redis_available():
        pytest.skip(f"no Redis answers at {REDIS_URL} (CI starts one: bash .ci/run)")
    from redis import Redis

    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


def make_settings(checkpoint: Path, **overrides: Any):
    from service.settings import Settings

    values: dict[str, Any] = {
        "checkpoint_dir": checkpoint,
        "redis_url": None,
        "heartbeat_s": HEARTBEAT_S,
        "api_key": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@contextlib.contextmanager
def client_for(settings, **app_kwargs: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from service.app import create_app

    app = create_app(settings, **app_kwargs)
    with TestClient(app) as client:
        yield client


def wait_ready(client, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"not ready after {timeout_s} s: {client.get('/readyz').json()}")


def wait_status(
    client, job_id: str, until: Callable[[dict], bool], timeout_s: float = 120, headers: dict | None = None
) -> dict:
    deadline = time.monotonic() + timeout_s
    view: dict = {}
    while time.monotonic() < deadline:
        response = client.get(f"/jobs/{job_id}", headers=headers or {})
        assert response.status_code == 200, response.text
        view = response.json()
        if until(view):
            return view
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the expected state; last: {view}")


def assert_error(response, status: int, kind: str, *words: str) -> dict:
    """The one error shape, with this status and type, and a message holding `words`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "details"}, body
    assert body["error"]["type"] == kind, body
    for word in words:
        assert word in body["error"]["message"], body["error"]["message"]
    return body["error"]


PICKLE_OPCODES = (b"\x80",)  # PROTO: every pickle of protocol 2 and later starts with it


def assert_job_data_is_json(redis_url: str, job_id: str) -> dict[str, Any]:
    """Read a job's raw records in Redis and check they are JSON, never pickle: the job hash's payload
    (`data`, zlib-compressed) and `meta`, and the result stream's return value (base64). Returns them."""
    import base64
    import json
    import zlib

    from redis import Redis

    connection = Redis.from_url(redis_url)
    try:
        job = connection.hgetall(f"rq:job:{job_id}")
        assert job, f"no job hash for {job_id}"
        assert all(not value.startswith(PICKLE_OPCODES) for value in job.values()), job
        data = zlib.decompress(job[b"data"])
        assert not data.startswith(PICKLE_OPCODES)
        decoded = {"data": json.loads(data), "meta": json.loads(job[b"meta"]), "results": []}
        for _, entry in connection.xrange(f"rq:results:{job_id}"):
            if entry.get(b"return_value"):
                raw = base64.b64decode(entry[b"return_value"])
                assert not raw.startswith(PICKLE_OPCODES)
                decoded["results"].append(json.loads(raw))
        return decoded
    finally:
        connection.close()


def finished(view: dict) -> bool:
    return view["status"] in ("succeeded", "failed", "canceled")


def items(count: int) -> list[dict[str, str]]:
    return [{"text": t, "label": label} for t, label in english_corpus(per_label=90)[:count]]


# Jobs that keep the tiny model busy on two cores (times without other load): SLOW_JOB about a second
# (long enough to be seen running and killed, short enough to finish on a retry), HUGE_JOB a few
# seconds (to be canceled, or to run into a 0.2 s time limit).
SLOW_JOB = {"items": items(128), "n": 16, "seed": 3}
HUGE_JOB = {"items": items(256), "n": 16, "seed": 3}


class WorkerProcess:
    """A real `python -m worker` process on the tiny checkpoint."""

    def __init__(self, checkpoint: Path, redis_url: str, queue: str, log_dir: Path, **env_overrides: str):
        self.queue = queue
        self.log = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        env = dict(
            os.environ,
            REDIS_URL=redis_url,
            QUEUE_NAME=queue,
            CHECKPOINT_DIR=str(checkpoint),
            HEARTBEAT_S=str(HEARTBEAT_S),
            DEVICE="cpu",
            TORCH_THREADS="1",
            HF_HUB_OFFLINE="1",
            PYTHONPATH=str(REPO),
            **env_overrides,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            cwd=REPO,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.redis_url = redis_url

    def wait_registered(self, timeout_s: float = 90) -> WorkerProcess:
        from redis import Redis
        from rq import Queue, Worker

        connection = Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log.read_text()}")
            workers = Worker.all(queue=Queue(self.queue, connection=connection))
            if any(w.pid == self.process.pid for w in workers):
                return self
            time.sleep(0.1)
        raise AssertionError(f"worker never registered:\n{self.log.read_text()}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # rq's warm shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(tiny_checkpoint, redis_url, tmp_path) -> Iterator[Callable[[str], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(queue: str) -> WorkerProcess:
        worker = WorkerProcess(tiny_checkpoint, redis_url, queue, tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def queue_name() -> str:
    """A queue of its own per test: a worker of another test never takes its jobs."""
    return f"test-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, to stop and start again (never the shared one).

    Append-only like the docker compose deployment, in the test's folder: what was in it survives a
    restart."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> ThrowawayRedis:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        command += ["--appendonly", "yes", "--dir", str(self.folder)]
        log = (self.folder / "redis.log").open("a")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        from redis import Redis

        connection = Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if connection.ping():
                    connection.close()
                    return self
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not start:\n{(self.folder / 'redis.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: flushes the append-only file, then exits
            self.process.wait(timeout=20)


@pytest.fixture
def throwaway_redis(tmp_path) -> Iterator[ThrowawayRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server to start a throwaway Redis with")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = ThrowawayRedis(folder)
    yield server.start()
    server.stop()


class ApiProcess:
    """A real `python -m service` (uvicorn) on a free port, on the tiny checkpoint."""

    def __init__(self, checkpoint: Path, log_path: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = dict(
            os.environ,
            CHECKPOINT_DIR=str(checkpoint),
            PORT=str(self.port),
            TORCH_THREADS="1",
            DEVICE="cpu",
            HF_HUB_OFFLINE="1",
            PYTHONPATH=str(REPO),
        )
        full_env.pop("REDIS_URL", None)
        full_env.update(env)
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service"],
                cwd=REPO,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout_s: float = 90) -> ApiProcess:
        import httpx

        deadline = time.monotonic() + timeout_s
        while True:
            assert self.process.poll() is None, self.log_path.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            assert time.monotonic() < deadline, self.log_path.read_text()
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

"""The deployment under load as subprocesses: Redis (unless `--redis-url`), the API and the workers,
and the wait until the API reports every worker ready."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tools.service_bench.common import REPO, Api, free_port


class Stack:
    """Redis (optional), the API and the workers as subprocesses, stopped in reverse order."""

    def __init__(self, args: argparse.Namespace, folder: Path):
        self.args = args
        self.folder = folder
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.redis_url = args.redis_url
        self.queue = f"load-{uuid.uuid4().hex[:8]}"
        self.api_port = free_port()
        self.api_key = uuid.uuid4().hex + uuid.uuid4().hex  # the API runs with a key, like production

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))
        return process

    def start(self) -> None:
        if self.redis_url is None:
            if shutil.which("redis-server") is None:
                raise SystemExit("bench: no redis-server on PATH; pass --redis-url")
            port = free_port()
            self._spawn(
                "redis",
                [
                    "redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                dict(os.environ),
            )
            self.redis_url = f"redis://127.0.0.1:{port}/0"
        env = dict(
            os.environ,
            REDIS_URL=self.redis_url,
            QUEUE_NAME=self.queue,
            CHECKPOINT_DIR=str(self.args.checkpoint),
            DEVICE=self.args.device,
            TORCH_THREADS=str(self.args.torch_threads),
            HF_HUB_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
            LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        self.workers = [
            self._spawn(f"worker-{i}", [sys.executable, "-m", "worker"], env)
            for i in range(self.args.workers)
        ]
        api_env = dict(
            env,
            PORT=str(self.api_port),
            API_KEY=self.api_key,
            MAX_QUEUE_DEPTH=str(self.args.augment_jobs + 10),
            MAX_ITEMS=str(max(256, self.args.items_per_job)),
        )
        self._spawn("api", [sys.executable, "-m", "service"], api_env)

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                log = (self.folder / f"{name}.log").read_text()[-3000:]
                raise SystemExit(f"bench: {name} exited with {process.returncode}:\n{log}")

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_ready(api: Api, stack: Stack, *, workers: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, body = api.call("GET", "/readyz")  # refused until uvicorn listens
            if status == 200 and body["checks"].get("workers") == workers:
                return
        time.sleep(0.5)
    raise SystemExit(f"bench: not ready after {timeout_s} s")

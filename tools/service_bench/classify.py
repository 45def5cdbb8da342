"""The classify run: the batched classifier forward measured in this process (no HTTP), then /classify
of an embedded API (no Redis) at concurrency 1 and 16 on the same checkpoint."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.service_bench.common import CLASSIFY_TEXTS, REPO, SAMPLE_TEXTS, Api, free_port, percentiles


def classify_texts(count: int) -> list[str]:
    """Distinct realistic texts (no cache can answer a repeat): the sample sentences, numbered."""
    pool = SAMPLE_TEXTS + CLASSIFY_TEXTS
    return [f"{pool[i % len(pool)]} ({i})" for i in range(count)]


class OfflineClassifier:
    """The checkpoint's classifier in this process (no HTTP): the reference /classify is held to."""

    def __init__(self, checkpoint: Path, texts: list[str], *, batch: int, quantize: str = "none"):
        from worker.runtime import ModelRuntime  # torch: only this command needs it

        self.runtime = ModelRuntime.load(
            checkpoint, device="cpu", purpose="classify", classify_quantize=quantize
        )
        self.texts, self.batch = texts, batch
        self.runtime.classify(texts[:batch])  # warm-up

    def texts_per_s(self, min_s: float) -> float:
        """Texts/s of the batched forward, over at least `min_s` seconds."""
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < min_s:
            for start in range(0, len(self.texts), self.batch):
                self.runtime.classify(self.texts[start : start + self.batch])
                done += len(self.texts[start : start + self.batch])
        return round(done / (time.perf_counter() - started), 1)

    def one_text_p50_ms(self) -> float:
        singles = []
        for text in self.texts[:200]:
            t0 = time.perf_counter()
            self.runtime.classify([text])
            singles.append(time.perf_counter() - t0)
        return round(1000 * statistics.median(singles), 2)


def http_classify(port: int, texts: list[str], concurrency: int) -> dict[str, Any]:
    """One text per call, `concurrency` callers at a time; latency percentiles in ms and calls/s.

    The callers are coroutines on one thread, each with a keep-alive connection, writing prebuilt
    requests and reading only the status line, headers and body length, as wrk does: the client
    shares the cores with the server it measures, so it should cost little. (Against 16 threads of
    `http.client`, side by side: the same calls/s at concurrency 16, 6-15% more at 1.)"""
    requests = [_classify_request(port, text) for text in texts]
    return asyncio.run(_call_all(port, requests, concurrency))


def _classify_request(port: int, text: str) -> bytes:
    body = json.dumps({"texts": [text]}).encode()
    head = (
        f"POST /classify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


CALL_TIMEOUT_S = 120.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the server keeps the connection open) of one HTTP/1.1 response, its body
    read and dropped. The body must come with a Content-Length, as uvicorn sends for every JSON
    response; anything else would leave bytes in the stream that the next call would misread."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if b"content-length" not in headers:
        raise ValueError(f"a response without Content-Length (status {status}): cannot measure it")
    await reader.readexactly(int(headers[b"content-length"]))
    return status, headers.get(b"connection") != b"close"


async def _call_all(port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    pending = iter(requests)

    async def call(connection: list[Any], request: bytes) -> int:
        """One call on the caller's connection (opened, or opened again once when the server had
        closed it); its status, or 0 when it failed or timed out."""
        for attempt in (1, 2):
            if not connection:
                connection.extend(await asyncio.open_connection("127.0.0.1", port))
            reader, writer = connection
            try:
                writer.write(request)
                status, keep_alive = await asyncio.wait_for(_read_response(reader), CALL_TIMEOUT_S)
            except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                writer.close()
                connection.clear()
                if attempt == 2:
                    return 0
                continue
            if not keep_alive:
                writer.close()
                connection.clear()
            return status
        return 0

    async def caller() -> None:
        nonlocal errors
        connection: list[Any] = []  # [reader, writer] while open
        try:
            for request in pending:  # the callers share one iterator: each call is made once
                t0 = time.perf_counter()
                status = await call(connection, request)
                latencies.append(time.perf_counter() - t0)
                errors += status != 200
        finally:
            if connection:
                connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    ms = {k: (v * 1000 if isinstance(v, float) else v) for k, v in percentiles(latencies).items()}
    return {
        "concurrency": concurrency,
        "calls": len(requests),
        "errors": errors,
        "calls_per_s": round(len(requests) / seconds, 1),
        "latency_ms": ms,
    }


def run_classify(args: argparse.Namespace) -> dict[str, Any]:
    texts = classify_texts(args.calls)
    offline = OfflineClassifier(args.checkpoint, texts, batch=args.batch, quantize=args.quantize)
    # The reference is measured before and after the HTTP runs and the two averaged: on a shared
    # machine one reading moved by a third between runs (docs/SPEED.md).
    offline_before = offline.texts_per_s(args.min_seconds)
    one_text_ms = offline.one_text_p50_ms()
    folder = Path(tempfile.mkdtemp(prefix="classify-bench-"))
    port = free_port()
    env = dict(
        os.environ,
        CHECKPOINT_DIR=str(args.checkpoint),
        PORT=str(port),
        DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        CLASSIFY_MAX_BATCH=str(args.batch),
        CLASSIFY_QUANTIZE=args.quantize,
    )
    env.pop("REDIS_URL", None)  # embedded mode: one process, the same /classify path as with Redis
    if args.torch_threads:
        env["TORCH_THREADS"] = str(args.torch_threads)
    log = (folder / "api.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "service"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        api = Api(port, None)
        deadline = time.monotonic() + 600
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if api.call("GET", "/readyz")[0] == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"bench: the API did not become ready:\n{(folder / 'api.log').read_text()[-3000:]}"
                )
            time.sleep(0.5)
        http_classify(port, texts[:50], 1)  # warm-up
        runs = [http_classify(port, texts[: args.calls // 4], 1), http_classify(port, texts, 16)]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # the reference below must not share the cores with it
            process.kill()
            process.wait()
    offline_after = offline.texts_per_s(args.min_seconds)
    reference = round((offline_before + offline_after) / 2, 1)
    return {
        "checkpoint": str(args.checkpoint),
        "offline": {
            "texts_per_s": reference,
            "before_http_texts_per_s": offline_before,
            "after_http_texts_per_s": offline_after,
            "one_text_p50_ms": one_text_ms,
        },
        "http": runs,
        "ratio_at_16": round(runs[1]["calls_per_s"] / reference, 3),
        "logs": str(folder),
    }

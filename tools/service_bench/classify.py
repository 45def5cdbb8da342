"""The classify run: the batched classifier forward measured in this process (no HTTP), then /classify
of an embedded API (no Redis) at concurrency 1 and 16 on the same checkpoint."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tools.service_bench.common import CLASSIFY_TEXTS, REPO, SAMPLE_TEXTS, Api, free_port, percentiles


def classify_texts(count: int) -> list[str]:
    """Distinct realistic texts (no cache can answer a repeat): the sample sentences, numbered."""
    pool = SAMPLE_TEXTS + CLASSIFY_TEXTS
    return [f"{pool[i % len(pool)]} ({i})" for i in range(count)]


def offline_throughput(
    checkpoint: Path, texts: list[str], *, batch: int, min_s: float, quantize: str = "none"
) -> dict[str, float]:
    """Texts/s of the batched classifier forward in this process (no HTTP), and one-text latency."""
    from worker.runtime import ModelRuntime  # torch: only this command needs it

    runtime = ModelRuntime.load(checkpoint, device="cpu", purpose="classify", classify_quantize=quantize)
    runtime.classify(texts[:batch])  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_s:
        for start in range(0, len(texts), batch):
            runtime.classify(texts[start : start + batch])
            done += len(texts[start : start + batch])
    batched = done / (time.perf_counter() - started)
    singles = []
    for text in texts[:200]:
        t0 = time.perf_counter()
        runtime.classify([text])
        singles.append(time.perf_counter() - t0)
    return {"texts_per_s": round(batched, 1), "one_text_p50_ms": round(1000 * statistics.median(singles), 2)}


def http_classify(api: Api, texts: list[str], concurrency: int) -> dict[str, Any]:
    """One text per call, `concurrency` callers at a time; latency percentiles in ms and calls/s."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def call(text: str) -> None:
        nonlocal errors
        t0 = time.perf_counter()
        status, _ = api.call("POST", "/classify", {"texts": [text]})
        elapsed = time.perf_counter() - t0
        with lock:
            latencies.append(elapsed)
            errors += status != 200

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(call, texts))
    seconds = time.perf_counter() - started
    ms = {k: (v * 1000 if isinstance(v, float) else v) for k, v in percentiles(latencies).items()}
    return {
        "concurrency": concurrency,
        "calls": len(texts),
        "errors": errors,
        "calls_per_s": round(len(texts) / seconds, 1),
        "latency_ms": ms,
    }


def run_classify(args: argparse.Namespace) -> dict[str, Any]:
    texts = classify_texts(args.calls)
    offline = offline_throughput(
        args.checkpoint, texts, batch=args.batch, min_s=args.min_seconds, quantize=args.quantize
    )
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
        http_classify(api, texts[:50], 1)  # warm-up
        runs = [http_classify(api, texts[: args.calls // 4], 1), http_classify(api, texts, 16)]
    finally:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    return {
        "checkpoint": str(args.checkpoint),
        "offline": offline,
        "http": runs,
        "ratio_at_16": round(runs[1]["calls_per_s"] / offline["texts_per_s"], 3),
        "logs": str(folder),
    }

"""Load test of the Redis deployment on loopback: `python -m tools.service_bench load [options]`.

Starts everything itself as subprocesses: a throwaway `redis-server` on a free port (or uses
`--redis-url` with a queue of its own), the API (`python -m service`) and `--workers` workers
(`python -m worker`), all on one checkpoint. Then:

1. measures each worker's resident memory once it is ready, and again after `--warmup-jobs` jobs;
2. submits `--augment-jobs` augment jobs at once (one thread each) while `--classify-calls` calls of
   /classify run `--classify-concurrency` at a time;
3. polls every job until it finished, and measures the workers' memory again after the queue drained.

It reports errors (any answer but 202 for a submission, 200 for /classify, any job that did not
succeed; the target is 0), latency percentiles (submit, submit-to-done, classify), the queue drain
time, and each worker's RSS before and after; as a table and as JSON (`--out`). Not a test: CI never
runs it. Needs only the standard library and this project (HTTP through `http.client`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

SAMPLE_TEXTS = [
    "The concert last night was the best show I have ever seen.",
    "I can't believe they cancelled my flight again without any notice.",
    "My grandmother passed away and the house feels empty now.",
    "Walking home alone in the dark, every sound made me jump.",
    "We finally got the keys to our first apartment today!",
    "The customer service agent hung up on me twice.",
    "I miss the long summer evenings with my old friends.",
    "The doctor said the results were unclear and I should wait.",
]
CLASSIFY_TEXTS = [
    "What a lovely surprise, thank you so much!",
    "This is the third time the package arrived broken.",
    "Nobody came to my birthday party this year.",
    "I heard footsteps behind me in the empty parking lot.",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)

    return {
        "count": len(values),
        "p50": pick(0.50),
        "p90": pick(0.90),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1], 4),
        "mean": round(statistics.fmean(values), 4),
    }


class Api:
    """A tiny thread-safe JSON client: one HTTP connection per thread."""

    def __init__(self, port: int, api_key: str | None):
        self.port = port
        self.headers = {"content-type": "application/json"}
        if api_key:
            self.headers["x-api-key"] = api_key
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        return conn

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=self.headers)
                response = conn.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
            except (http.client.HTTPException, OSError) as err:
                conn.close()
                self._local.conn = None
                stale = isinstance(
                    err, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                )
                if attempt == 2 or not stale:
                    raise
        raise AssertionError("unreachable")


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


def wait_ready(api: Api, stack: Stack, workers: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, body = api.call("GET", "/readyz")  # refused until uvicorn listens
            if status == 200 and body["checks"].get("workers") == workers:
                return
        time.sleep(0.5)
    raise SystemExit(f"bench: not ready after {timeout_s} s")


def wait_jobs(api: Api, job_ids: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    views: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    pending = list(job_ids)
    while pending and time.monotonic() < deadline:
        still = []
        for job_id in pending:
            status, view = api.call("GET", f"/jobs/{job_id}")
            if status == 200 and view["status"] in ("succeeded", "failed", "canceled"):
                views[job_id] = view
            else:
                still.append(job_id)
        pending = still
        if pending:
            time.sleep(0.5)
    for job_id in pending:
        views[job_id] = {"status": "timed_out"}
    return views


def augment_body(args: argparse.Namespace, index: int, labels: list[str]) -> dict[str, Any]:
    items = [
        {"text": SAMPLE_TEXTS[(index + k) % len(SAMPLE_TEXTS)], "label": labels[(index + k) % len(labels)]}
        for k in range(args.items_per_job)
    ]
    return {"items": items, "n": args.n, "seed": index, "method": args.method}


class Burst:
    """`--augment-jobs` submissions released at once (one thread each) while `--classify-calls` calls of
    /classify run `--classify-concurrency` at a time; what each answered, tallied under one lock."""

    def __init__(self, api: Api, args: argparse.Namespace, labels: list[str]):
        self.api, self.args, self.labels = api, args, labels
        self.errors: Counter[str] = Counter()
        self.submit_latency: list[float] = []
        self.classify_latency: list[float] = []
        self.job_ids: list[str] = []
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(args.augment_jobs)

    def _call(self, kind: str, path: str, body: dict, latencies: list[float]) -> tuple[int, Any] | None:
        """POST `body`; its latency goes into `latencies`, a failed connection into the errors as `kind`."""
        t0 = time.perf_counter()
        try:
            status, answer = self.api.call("POST", path, body)
        except OSError as err:
            with self.lock:
                self.errors[f"{kind}: {type(err).__name__}"] += 1
            return None
        with self.lock:
            latencies.append(time.perf_counter() - t0)
        return status, answer

    def submit(self, index: int) -> None:
        body = augment_body(self.args, index, self.labels)
        self.barrier.wait()  # all at once
        answered = self._call("augment submit", "/augment", body, self.submit_latency)
        if answered is None:
            return
        status, answer = answered
        with self.lock:
            if status == 202:
                self.job_ids.append(answer["id"])
            else:
                self.errors[f"augment submit: HTTP {status}"] += 1

    def classify(self, index: int) -> None:
        n = self.args.classify_texts
        texts = [CLASSIFY_TEXTS[(index + k) % len(CLASSIFY_TEXTS)] for k in range(n)]
        answered = self._call("classify", "/classify", {"texts": texts}, self.classify_latency)
        if answered is not None and (answered[0] != 200 or len(answered[1]["results"]) != len(texts)):
            with self.lock:
                self.errors[f"classify: HTTP {answered[0]}"] += 1

    def run(self, started: float) -> tuple[float, float]:
        """Seconds after `started` (monotonic) when every submission, then every /classify call, was answered."""
        args = self.args
        with (
            ThreadPoolExecutor(args.augment_jobs) as submitters,
            ThreadPoolExecutor(args.classify_concurrency) as classifiers,
        ):
            submitted = [submitters.submit(self.submit, i) for i in range(args.augment_jobs)]
            classified = [classifiers.submit(self.classify, i) for i in range(args.classify_calls)]
            for future in submitted:
                future.result()
            submit_done_s = time.monotonic() - started
            for future in classified:
                future.result()
            return submit_done_s, time.monotonic() - started


class RssSampler:
    """The workers' resident memory every half second from `started` (monotonic): its peak and its course."""

    def __init__(self, processes: list[subprocess.Popen], floor: list[float], started: float):
        self.processes, self.started = processes, started
        self.peak = list(floor)
        self.series: list[list[tuple[float, float]]] = [[] for _ in processes]  # (s since start, MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            now = time.monotonic() - self.started
            for i, process in enumerate(self.processes):
                with contextlib.suppress(OSError, RuntimeError):
                    rss = rss_mib(process.pid)
                    self.peak[i] = max(self.peak[i], rss)
                    self.series[i].append((round(now, 1), round(rss, 1)))

    def stop(self) -> None:
        self._stop.set()


def job_timings(views: dict[str, dict], since: dt.datetime) -> dict[str, Any]:
    """Per finished job: submit-to-done and run time (s), and when it ended (s after `since`)."""
    complete, run, ends = [], [], []
    for view in views.values():
        if view.get("ended_at") and view.get("created_at"):
            created = dt.datetime.fromisoformat(view["created_at"])
            ended = dt.datetime.fromisoformat(view["ended_at"])
            complete.append((ended - created).total_seconds())
            ends.append(ended)
            if view.get("started_at"):
                run.append((ended - dt.datetime.fromisoformat(view["started_at"])).total_seconds())
    finished = [round((end - since).total_seconds(), 1) for end in sorted(ends)]
    return {
        "complete": complete,
        "run": run,
        "finished": finished,
        "last_end_s": (max(ends) - since).total_seconds() if ends else None,
    }


def run_load(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="dcls-load-"))
    stack = Stack(args, folder)
    started_at = time.monotonic()
    stack.start()
    try:
        api = Api(stack.api_port, stack.api_key)
        wait_ready(api, stack, args.workers)
        startup_s = time.monotonic() - started_at
        _, info = api.call("GET", "/info")
        labels = info["model"]["labels"]
        rss_ready = [rss_mib(p.pid) for p in stack.workers]
        # Warm-up: "before" is taken once the workers' allocators have reached their working size,
        # so that before -> after shows growth with the number of jobs (a leak), not first-use.
        warm = [
            api.call("POST", "/augment", augment_body(args, 10_000 + i, labels))[1]["id"]
            for i in range(args.warmup_jobs)
        ]
        warm_views = wait_jobs(api, warm, args.timeout_s)
        rss_before = [rss_mib(p.pid) for p in stack.workers]
        burst = Burst(api, args, labels)
        load_started = time.monotonic()
        load_started_wall = dt.datetime.now(dt.UTC)
        sampler = RssSampler(stack.workers, rss_before, load_started)
        submit_done_s, classify_done_s = burst.run(load_started)
        views = wait_jobs(api, burst.job_ids, args.timeout_s)
        drained_s = time.monotonic() - load_started
        statuses = Counter(v["status"] for v in views.values())
        for status, count in statuses.items():
            if status != "succeeded":
                burst.errors[f"job {status}"] += count
        timings = job_timings(views, load_started_wall)
        sampler.stop()
        time.sleep(args.settle_s)  # let allocators return what the last jobs freed
        rss_after = [rss_mib(p.pid) for p in stack.workers]
        stack.check_alive()
        last_end_s = timings["last_end_s"]
        return {
            "settings": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "command"
            },
            "checkpoint": info["model"]["checkpoint"],
            "base_model": info["model"]["base_model"],
            "startup_s": round(startup_s, 1),
            "warm_up_jobs": dict(Counter(v["status"] for v in warm_views.values())),
            "errors": dict(burst.errors),
            "error_count": sum(burst.errors.values()),
            "augment": {
                "submitted": args.augment_jobs,
                "accepted": len(burst.job_ids),
                "statuses": dict(statuses),
                "outputs": sum(len(v["result"]["outputs"]) for v in views.values() if v.get("result")),
                "submit_latency_s": percentiles(burst.submit_latency),
                "complete_latency_s": percentiles(timings["complete"]),
                "run_time_s": percentiles(timings["run"]),
                "all_submitted_after_s": round(submit_done_s, 2),
                "queue_drain_s": round(last_end_s, 2) if last_end_s is not None else None,
                "observed_drained_after_s": round(drained_s, 2),
            },
            "classify": {
                "calls": args.classify_calls,
                "texts_per_call": args.classify_texts,
                "latency_s": percentiles(burst.classify_latency),
                "all_done_after_s": round(classify_done_s, 2),
                "throughput_calls_per_s": round(args.classify_calls / classify_done_s, 1),
            },
            "worker_rss_mib": [
                rss_row(i, rss_ready[i], rss_before[i], sampler.peak[i], rss_after[i])
                for i in range(len(stack.workers))
            ],
            # Does memory level off? The workers' RSS at the middle of the burst against its end.
            "worker_rss_second_half_growth_pct": [
                second_half_growth_pct(samples, last_end_s) for samples in sampler.series
            ],
            "worker_rss_series": [thin(samples, 500) for samples in sampler.series],
            # (seconds after the burst, jobs finished by then)
            "jobs_finished_at_s": thin([(t, k + 1) for k, t in enumerate(timings["finished"])], 500),
            "logs": str(folder),
        }
    finally:
        stack.stop()


def rss_row(worker: int, ready: float, before: float, peak: float, after: float) -> dict[str, Any]:
    return {
        "worker": worker,
        "ready": round(ready, 1),
        "before": round(before, 1),
        "peak": round(peak, 1),
        "after": round(after, 1),
        "growth": round(after - before, 1),
        "growth_pct": round(100 * (after - before) / before, 2),
    }


def thin(values: list, at_most: int) -> list:
    """Every k-th value (the last one always kept) so that at most about `at_most` remain."""
    if len(values) <= at_most:
        return list(values)
    step = -(-len(values) // at_most)
    return values[::step] + ([values[-1]] if (len(values) - 1) % step else [])


def second_half_growth_pct(samples: list[tuple[float, float]], end_s: float | None) -> float | None:
    """RSS growth (%) from the middle of the burst to its end: near 0 when memory has levelled off.

    samples: (seconds since the burst, MiB). Each side is the median of its readings (40-60% and
    90-100% of the burst), so that one reading taken while a job's buffers were freed does not decide it."""
    if not samples or not end_s:
        return None

    def median_between(low: float, high: float) -> float | None:
        values = sorted(rss for t, rss in samples if low * end_s <= t <= high * end_s)
        return statistics.median(values) if values else None

    middle, end = median_between(0.4, 0.6), median_between(0.9, 1.0)
    if middle is None or end is None:
        return None
    return round(100 * (end - middle) / middle, 2)


def plot_soak(report: dict[str, Any], path: Path) -> Path:
    """Each worker's RSS through the burst, beside the jobs finished, as a PNG."""
    from training.plots import save_png, soak_figure

    finished = [tuple(point) for point in report["jobs_finished_at_s"]]
    a = report["augment"]
    title = (
        f"{a['submitted']} augment jobs, {report['settings']['workers']} worker(s) on "
        f"{report['settings']['device']}: RSS during the burst"
    )
    return save_png(soak_figure([tuple(s) for s in report["worker_rss_series"][0]], title, finished), path)


def format_report(report: dict[str, Any]) -> str:
    def row(name: str, p: dict[str, Any]) -> str:
        cells = [p[k] for k in ("count", "p50", "p90", "p95", "p99", "max", "mean")]
        return f"{name:<28}" + "".join(f"{'-' if c is None else c:>10}" for c in cells)

    a, c = report["augment"], report["classify"]
    lines = [
        f"checkpoint {report['checkpoint']} (base {report['base_model']}), "
        f"{report['settings']['workers']} workers, startup {report['startup_s']} s",
        f"errors: {report['error_count']} {report['errors'] or ''}".rstrip(),
        f"augment: {a['submitted']} submitted at once, {a['accepted']} accepted, statuses {a['statuses']}, "
        f"{a['outputs']} outputs",
        f"queue drain: last job done {a['queue_drain_s']} s after the burst "
        f"(all submitted after {a['all_submitted_after_s']} s)",
        f"classify: {c['calls']} calls x {c['texts_per_call']} text(s), {c['throughput_calls_per_s']} calls/s, "
        f"all done after {c['all_done_after_s']} s",
        "",
        f"{'latency (s)':<28}"
        + "".join(f"{k:>10}" for k in ("count", "p50", "p90", "p95", "p99", "max", "mean")),
        row("augment submit (202)", a["submit_latency_s"]),
        row("augment submit -> done", a["complete_latency_s"]),
        row("augment job run time", a["run_time_s"]),
        row("classify", c["latency_s"]),
        "",
        f"worker RSS (MiB): ready = loaded; before = after {report['settings']['warmup_jobs']} warm-up jobs; "
        "peak during the load; after = drained + settle",
        f"{'':<28}{'ready':>10}{'before':>10}{'peak':>10}{'after':>10}{'growth':>10}{'%':>10}",
    ]
    for w in report["worker_rss_mib"]:
        lines.append(
            f"{'worker ' + str(w['worker']):<28}{w['ready']:>10}{w['before']:>10}{w['peak']:>10}{w['after']:>10}"
            f"{w['growth']:>10}{w['growth_pct']:>10}"
        )
    halves = report.get("worker_rss_second_half_growth_pct") or []
    lines.append(
        "RSS growth from the middle of the burst to its end (levelled off: near 0): "
        + ", ".join("-" if g is None else f"{g:+.2f}%" for g in halves)
    )
    return "\n".join(lines)


def classify_texts(count: int) -> list[str]:
    """Distinct realistic texts (no cache can answer a repeat): the sample sentences, numbered."""
    pool = SAMPLE_TEXTS + CLASSIFY_TEXTS
    return [f"{pool[i % len(pool)]} ({i})" for i in range(count)]


def offline_throughput(
    checkpoint: Path, texts: list[str], batch: int, min_s: float, quantize: str = "none"
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
    offline = offline_throughput(args.checkpoint, texts, args.batch, args.min_seconds, args.quantize)
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


def format_classify(report: dict[str, Any]) -> str:
    off = report["offline"]
    lines = [
        f"offline batched classifier forward: {off['texts_per_s']} texts/s; one text alone: p50 {off['one_text_p50_ms']} ms",
        "",
        "| concurrency | calls | errors | calls/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in report["http"]:
        ms = run["latency_ms"]
        lines.append(
            f"| {run['concurrency']} | {run['calls']} | {run['errors']} | {run['calls_per_s']} | "
            f"{ms['p50']:.1f} | {ms['p95']:.1f} | {ms['p99']:.1f} |"
        )
    lines.append(
        f"\n/classify at concurrency 16 = {report['ratio_at_16']:.0%} of the offline batched throughput"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.service_bench", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load", help="API + workers on loopback under concurrent augment and classify load")
    load.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "sample")
    load.add_argument("--workers", type=int, default=2)
    load.add_argument("--augment-jobs", type=int, default=200)
    load.add_argument("--items-per-job", type=int, default=2)
    load.add_argument("--n", type=int, default=2, help="new texts per item")
    load.add_argument("--method", default="diffusioncls")
    load.add_argument(
        "--warmup-jobs", type=int, default=20, help="jobs run before the 'before' memory reading"
    )
    load.add_argument("--classify-calls", type=int, default=1000)
    load.add_argument("--classify-texts", type=int, default=1, help="texts per /classify call")
    load.add_argument("--classify-concurrency", type=int, default=32)
    load.add_argument("--torch-threads", type=int, default=1, help="TORCH_THREADS of each process")
    load.add_argument(
        "--device", default="cpu", help="DEVICE of the workers and the API: cpu, cuda or auto (default cpu)"
    )
    load.add_argument(
        "--redis-url", default=None, help="use this Redis (a queue of its own) instead of a throwaway one"
    )
    load.add_argument("--timeout-s", type=float, default=3600, help="give up on jobs not done by then")
    load.add_argument("--settle-s", type=float, default=5.0)
    load.add_argument("--out", type=Path, default=REPO / "runs" / "load.json")
    load.add_argument(
        "--plot", type=Path, default=None, help="also draw the first worker's RSS through the burst (PNG)"
    )
    cls = sub.add_parser(
        "classify", help="/classify latency at concurrency 1 and 16 against the offline forward"
    )
    cls.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "sample")
    cls.add_argument("--calls", type=int, default=1600, help="calls at concurrency 16 (a quarter at 1)")
    cls.add_argument("--batch", type=int, default=64, help="offline batch size and CLASSIFY_MAX_BATCH")
    cls.add_argument("--min-seconds", type=float, default=5.0, help="least time of the offline measurement")
    cls.add_argument("--torch-threads", type=int, default=None)
    cls.add_argument(
        "--quantize",
        choices=["none", "int8"],
        default="none",
        help="CLASSIFY_QUANTIZE of the server, and the same model offline (default none)",
    )
    cls.add_argument("--out", type=Path, default=REPO / "runs" / "classify.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.checkpoint / "diffusioncls.json").is_file():
        print(
            f"bench: no checkpoint at {args.checkpoint} (bash scripts/run.sh fits checkpoints/sample)",
            file=sys.stderr,
        )
        return 2
    if args.command == "classify":
        result = run_classify(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(format_classify(result))
        return 0
    report = run_load(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(format_report(report))
    print(f"\nJSON: {args.out}; logs: {report['logs']}")
    if args.plot:
        print(f"plot: {plot_soak(report, args.plot)}")
    return 0 if report["error_count"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

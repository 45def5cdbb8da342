"""The load run: the stack started, the workers warmed up, a burst of augment jobs with /classify calls
beside it, every job polled to its end, and the measurements gathered into the report (a dict, saved
as JSON)."""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.service_bench.common import CLASSIFY_TEXTS, SAMPLE_TEXTS, Api, percentiles
from tools.service_bench.rss import RssSampler, rss_mib, rss_row, second_half_growth_pct, thin
from tools.service_bench.stack import Stack, wait_ready


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

    def _call(self, path: str, body: dict, *, kind: str, latencies: list[float]) -> tuple[int, Any] | None:
        """POST `body` to `path`; its latency goes into `latencies`, a failed connection into the errors
        as `kind`."""
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
        answered = self._call("/augment", body, kind="augment submit", latencies=self.submit_latency)
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
        answered = self._call("/classify", {"texts": texts}, kind="classify", latencies=self.classify_latency)
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


@dataclass(frozen=True, kw_only=True)  # keywords: rss_ready and rss_before could be swapped silently
class Startup:
    """The deployment once ready: what /info says of the model, how long it took to be ready, and each
    worker's RSS when ready and after the warm-up jobs."""

    info: dict[str, Any]
    startup_s: float
    warm_views: dict[str, dict[str, Any]]
    rss_ready: list[float]
    rss_before: list[float]


@dataclass(frozen=True, kw_only=True)  # keywords: the three durations could be swapped silently
class BurstRun:
    """What the burst left behind: its tallies, the workers' memory through it and after, and every
    job's final view with its timings."""

    burst: Burst
    sampler: RssSampler
    views: dict[str, dict[str, Any]]
    statuses: Counter[str]
    timings: dict[str, Any]
    submit_done_s: float
    classify_done_s: float
    drained_s: float
    rss_after: list[float]


def warm_up(api: Api, stack: Stack, args: argparse.Namespace, *, started_at: float) -> Startup:
    """Wait until every worker of the stack started at `started_at` (monotonic) is ready, then run the
    warm-up jobs, reading the workers' RSS before and after them."""
    wait_ready(api, stack, workers=args.workers)
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
    return Startup(
        info=info, startup_s=startup_s, warm_views=warm_views, rss_ready=rss_ready, rss_before=rss_before
    )


def run_burst(api: Api, stack: Stack, args: argparse.Namespace, *, ready: Startup) -> BurstRun:
    """The burst with the workers' RSS sampled through it; every job polled to its end; the workers'
    RSS read again once the allocators settled."""
    burst = Burst(api, args, ready.info["model"]["labels"])
    load_started = time.monotonic()
    load_started_wall = dt.datetime.now(dt.UTC)
    sampler = RssSampler(stack.workers, ready.rss_before, load_started)
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
    return BurstRun(
        burst=burst,
        sampler=sampler,
        views=views,
        statuses=statuses,
        timings=timings,
        submit_done_s=submit_done_s,
        classify_done_s=classify_done_s,
        drained_s=drained_s,
        rss_after=rss_after,
    )


def run_load(args: argparse.Namespace) -> dict[str, Any]:
    """The whole load run on a stack of its own, stopped once it is measured; its report."""
    folder = Path(tempfile.mkdtemp(prefix="dcls-load-"))
    stack = Stack(args, folder)
    started_at = time.monotonic()
    stack.start()
    try:
        api = Api(stack.api_port, stack.api_key)
        ready = warm_up(api, stack, args, started_at=started_at)
        run = run_burst(api, stack, args, ready=ready)
        stack.check_alive()
        return load_report(args, ready=ready, run=run, folder=folder)
    finally:
        stack.stop()


def load_report(args: argparse.Namespace, *, ready: Startup, run: BurstRun, folder: Path) -> dict[str, Any]:
    """The report of a load run: the settings, errors, latencies, queue drain and the workers' RSS."""
    burst, sampler, timings = run.burst, run.sampler, run.timings
    last_end_s = timings["last_end_s"]
    return {
        "settings": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "command"
        },
        "checkpoint": ready.info["model"]["checkpoint"],
        "base_model": ready.info["model"]["base_model"],
        "startup_s": round(ready.startup_s, 1),
        "warm_up_jobs": dict(Counter(v["status"] for v in ready.warm_views.values())),
        "errors": dict(burst.errors),
        "error_count": sum(burst.errors.values()),
        "augment": {
            "submitted": args.augment_jobs,
            "accepted": len(burst.job_ids),
            "statuses": dict(run.statuses),
            "outputs": sum(len(v["result"]["outputs"]) for v in run.views.values() if v.get("result")),
            "submit_latency_s": percentiles(burst.submit_latency),
            "complete_latency_s": percentiles(timings["complete"]),
            "run_time_s": percentiles(timings["run"]),
            "all_submitted_after_s": round(run.submit_done_s, 2),
            "queue_drain_s": round(last_end_s, 2) if last_end_s is not None else None,
            "observed_drained_after_s": round(run.drained_s, 2),
        },
        "classify": {
            "calls": args.classify_calls,
            "texts_per_call": args.classify_texts,
            "latency_s": percentiles(burst.classify_latency),
            "all_done_after_s": round(run.classify_done_s, 2),
            "throughput_calls_per_s": round(args.classify_calls / run.classify_done_s, 1),
        },
        "worker_rss_mib": [
            rss_row(
                i,
                ready=ready.rss_ready[i],
                before=ready.rss_before[i],
                peak=sampler.peak[i],
                after=run.rss_after[i],
            )
            for i in range(len(run.rss_after))
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

"""Prometheus metrics of a worker process, served on METRICS_PORT (`/metrics`) when it is set.

What the API's /metrics cannot see: how long this worker's jobs take, how they end, how many texts
it wrote, and its own memory. The names start with `dcls_worker_`; a scraper tells workers apart by
its target (one port per process).
"""

from __future__ import annotations

import resource
import sys

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

disable_created_metrics()  # the *_created series double the output and carry nothing a scraper uses
registry = CollectorRegistry()
jobs = Counter(
    "dcls_worker_jobs",
    "augment jobs this worker ran, by method and how they ended",
    ["method", "status"],
    registry=registry,
)
failures = Counter(
    "dcls_worker_failures",
    "failed augment jobs by error type (invalid_request, timeout, model_mismatch, internal)",
    ["type"],
    registry=registry,
)
job_seconds = Histogram(
    "dcls_worker_job_seconds",
    "run time of this worker's augment jobs, by method and how they ended",
    ["method", "status"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=registry,
)
outputs = Counter("dcls_worker_outputs", "augmented texts this worker wrote", registry=registry)
rss_bytes = Gauge("dcls_worker_rss_bytes", "this worker's resident memory", registry=registry)
peak_rss_bytes = Gauge("dcls_worker_peak_rss_bytes", "this worker's peak resident memory", registry=registry)
busy = Gauge("dcls_worker_busy", "1 while this worker runs a job", registry=registry)
# Decoding throughput: rate(dcls_worker_decoded_chains_total) / rate(dcls_worker_decode_seconds_total)
# is the samples per second of the sampler itself (jobs' queueing, scoring and I/O left out).
decoded_chains = Counter(
    "dcls_worker_decoded_chains",
    "diffusion chains (candidate samples) this worker decoded",
    registry=registry,
)
decode_seconds = Counter(
    "dcls_worker_decode_seconds",
    "seconds this worker spent filling masks (the sampler's forward passes and draws)",
    registry=registry,
)


def _current_rss() -> int:
    try:
        with open("/proc/self/statm") as handle:  # Linux: resident pages are the second field
            return int(handle.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def _peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


rss_bytes.set_function(_current_rss)
peak_rss_bytes.set_function(_peak_rss)


def record_job(
    *,
    method: str,
    status: str,
    seconds: float,
    produced: int = 0,
    error_type: str | None = None,
    chains: int = 0,
    chain_seconds: float = 0.0,
) -> None:
    jobs.labels(method, status).inc()
    job_seconds.labels(method, status).observe(seconds)
    outputs.inc(produced)
    decoded_chains.inc(chains)
    decode_seconds.inc(chain_seconds)
    if error_type:
        failures.labels(error_type).inc()


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """A background HTTP server for /metrics (prometheus_client's own thread)."""
    start_http_server(port, addr=host, registry=registry)

"""Prometheus metrics of one app instance (its own registry, so several apps can live in one process).

Request counts and latencies are labelled by route template (`/jobs/{job_id}`), never by the raw
path, so job ids do not blow up the number of series. Job counts by status and the queue depth are
read from the backend at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

disable_created_metrics()  # the *_created series double the output and carry nothing a scraper uses


class _JobCollector(Collector):
    def __init__(self, read_counts: Callable[[], dict[str, int]]):
        self.read_counts = read_counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = self.read_counts()
        except Exception:  # a scrape while Redis is down still returns the other metrics
            return
        family = GaugeMetricFamily(
            "dcls_jobs", "augment jobs known to the backend, by status", labels=["status"]
        )
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dcls_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dcls_http_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.jobs_submitted = Counter(
            "dcls_jobs_submitted", "augment jobs accepted, by method", ["method"], registry=self.registry
        )
        self.classify_texts = Counter("dcls_classify_texts", "texts classified", registry=self.registry)
        self.classify_batch = Histogram(
            "dcls_classify_batch_texts",
            "texts per batched classifier forward pass",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        self.workers = Gauge(
            "dcls_workers",
            "rq workers serving the queue, as of the last /readyz or /metrics",
            registry=self.registry,
        )
        self.model_ready = Gauge(
            "dcls_model_ready", "1 when the models this process needs are loaded", registry=self.registry
        )

    def watch_jobs(self, read_counts: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_JobCollector(read_counts))

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""The workers' resident memory: read from /proc, sampled through the burst, summarised per worker
(ready, before, peak, after), tested for levelling off, and drawn as a PNG."""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


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


def rss_row(worker: int, *, ready: float, before: float, peak: float, after: float) -> dict[str, Any]:
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
    from training.plots import save_png, soak_figure  # matplotlib: only when --plot asks for a picture

    finished = [tuple(point) for point in report["jobs_finished_at_s"]]
    a = report["augment"]
    title = (
        f"{a['submitted']} augment jobs, {report['settings']['workers']} worker(s) on "
        f"{report['settings']['device']}: RSS during the burst"
    )
    return save_png(soak_figure([tuple(s) for s in report["worker_rss_series"][0]], title, finished), path)

"""The reports as text: the load run's summary with its latency and worker-memory tables, and the
classify run's Markdown table."""

from __future__ import annotations

from typing import Any


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


def format_classify(report: dict[str, Any]) -> str:
    off = report["offline"]
    lines = [
        f"offline batched classifier forward: {off['texts_per_s']} texts/s (before the HTTP runs "
        f"{off['before_http_texts_per_s']}, after {off['after_http_texts_per_s']}); "
        f"one text alone: p50 {off['one_text_p50_ms']} ms",
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

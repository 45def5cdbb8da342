"""What a quality run reports: per-method means and paired differences, the table, the result file."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from training.bench.paired import paired_runs


def summarise(runs: Sequence[dict], methods: Sequence[str]) -> list[dict]:
    def stats(values):
        return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)

    baseline = {r["seed"]: r for r in runs if r["method"] == "none"}
    rows = []
    for method in methods:
        mine = [r for r in runs if r["method"] == method]
        if not mine:
            continue
        f1, acc = stats([r["macro_f1"] for r in mine]), stats([r["accuracy"] for r in mine])
        row = {
            "method": method,
            "seeds": len(mine),
            "macro_f1": f1[0],
            "macro_f1_std": f1[1],
            "accuracy": acc[0],
            "accuracy_std": acc[1],
            "seconds": statistics.fmean(r["seconds"] for r in mine),
        }
        paired = [r for r in mine if r["seed"] in baseline]
        if baseline and method != "none" and paired:
            row["delta_macro_f1"] = statistics.fmean(
                r["macro_f1"] - baseline[r["seed"]]["macro_f1"] for r in paired
            )
            row["delta_accuracy"] = statistics.fmean(
                r["accuracy"] - baseline[r["seed"]]["accuracy"] for r in paired
            )
            ci = paired_runs(runs, "none", method)
            if ci is not None:
                row["delta_macro_f1_ci"] = [ci["low"], ci["high"]]
                row["seeds_won"] = ci["seeds_won"]
                row["significant"] = ci["significant"]
        for key in (
            "distinct_1",
            "distinct_2",
            "self_bleu",
            "consistency",
            "judge_label_kept",
            "judge_ceiling",
        ):
            values = [r["samples"][key] for r in mine if key in r.get("samples", {})]
            if values:
                row[key] = statistics.fmean(values)
        # the test split's calibration error as trained and after temperature scaling (in records
        # written since 2026-12-06, late night)
        eces = [r["calibration"]["test"]["ece"] for r in mine if "calibration" in r]
        if eces:
            row["test_ece"] = [statistics.fmean(e[0] for e in eces), statistics.fmean(e[1] for e in eces)]
        rows.append(row)
    return rows


def format_table(summary: Sequence[dict]) -> str:
    """Markdown table; ΔF1 is paired against `none` by seed, with its 95% bootstrap interval over seeds
    and test examples and the seeds won; a * marks an interval that excludes 0."""
    judged = any("judge_label_kept" in row for row in summary)
    calibrated = any("test_ece" in row for row in summary)
    head = (
        "| method | macro-F1 | accuracy | ΔF1 | ΔF1 95% interval | seeds won | ΔAcc | time/seed "
        "| distinct-2 | BLEU vs original | consistency (none's classifier) |"
        + (" label kept (held-out judge; its ceiling) |" if judged else "")
        + (" test ECE, as trained → calibrated |" if calibrated else "")
    )
    lines = [head, "|" + "---|" * (11 + judged + calibrated)]

    def ece(row):
        return f"{row['test_ece'][0]:.3f} → {row['test_ece'][1]:.3f}" if "test_ece" in row else "–"

    def judge(row):
        if "judge_label_kept" not in row:
            return "–"
        return f"{100 * row['judge_label_kept']:.1f} ({100 * row['judge_ceiling']:.1f})"

    def interval(row):
        if "delta_macro_f1_ci" not in row:
            return "–"
        low, high = row["delta_macro_f1_ci"]
        return f"[{100 * low:+.2f}, {100 * high:+.2f}]" + (" *" if row.get("significant") else "")

    def won(row):
        return f"{row['seeds_won']} / {row['seeds']}" if "seeds_won" in row else "–"

    def pct(row, key):
        return f"{100 * row[key]:.2f} ± {100 * row[key + '_std']:.2f}"

    def opt(row, key, *, scale=100.0, signed=False):
        if key not in row:
            return "–"
        return f"{scale * row[key]:+.2f}" if signed else f"{scale * row[key]:.2f}"

    for row in summary:
        lines.append(
            f"| {row['method']} | {pct(row, 'macro_f1')} | {pct(row, 'accuracy')} | {opt(row, 'delta_macro_f1', signed=True)} "
            f"| {interval(row)} | {won(row)} "
            f"| {opt(row, 'delta_accuracy', signed=True)} | {row['seconds']:.0f}s | {opt(row, 'distinct_2')} "
            f"| {opt(row, 'self_bleu')} | {opt(row, 'consistency')} |"
            + (f" {judge(row)} |" if judged else "")
            + (f" {ece(row)} |" if calibrated else "")
        )
    return "\n".join(lines)


def format_examples(runs: Sequence[dict], per_method: int = 3) -> str:
    """Markdown: the pseudo samples each method trained on in the first seed that kept some, up to
    `per_method` of them, each under its original (empty when no record kept examples, as in result
    files written before 2026-12-06)."""
    kept = [r for r in runs if r.get("samples", {}).get("examples")]
    if not kept:
        return ""
    seed = min(r["seed"] for r in kept)

    def one_line(text: str) -> str:
        return " ".join(text.split())

    lines = [
        f"Pseudo samples beside their originals (seed {seed}, the first {per_method} kept per method):",
        "",
    ]
    for record in (r for r in kept if r["seed"] == seed):
        lines += [f"`{record['method']}`", "", "```"]
        for example in record["samples"]["examples"][:per_method]:
            lines.append(f"{example['label']}: {one_line(example['original'])}")
            lines.append(f"  ->  {one_line(example['text'])}")
        lines += ["```", ""]
    return "\n".join(lines).rstrip()


def format_generations(runs: Sequence[dict]) -> str:
    """Markdown: per DiffusionCLS method, what its generations of pseudo samples came to, summed over
    seeds and generations: outputs requested, chains decoded for them, outputs flagged below the
    top-up's bar and pseudo samples kept by the drop filter (empty when no record holds
    `generations`, as in result files written before the evening of 2026-12-07)."""
    totals: dict[str, dict[str, int]] = {}
    for record in runs:
        for generation in record.get("generations", ()):
            total = totals.setdefault(
                record["method"], {"requested": 0, "decoded": 0, "flagged": 0, "kept": 0}
            )
            for key in total:
                total[key] += generation[key]
    if not totals:
        return ""
    lines = [
        "Pseudo samples made, all seeds and generations (decoded: chains the sampler ran, top-ups "
        "included; flagged: returned under the top-up's label bar; kept: what the classifier trained on):",
        "",
        "| method | requested | decoded | flagged | kept |",
        "|---|---|---|---|---|",
    ]
    for method, t in totals.items():
        # a balanced set asks B/D for nothing: counts without shares
        cells = [
            f"{t[k]} ({100 * t[k] / t['requested']:.0f}%)" if t["requested"] else str(t[k])
            for k in ("decoded", "flagged", "kept")
        ]
        lines.append(f"| {method} | {t['requested']} | {' | '.join(cells)} |")
    return "\n".join(lines)


def budget_words(*, proxy: int, generator: int, classifier: int, n: int, regenerate_every: int) -> str:
    """What a quality run trains each seed with, in words: epochs and pseudo samples."""
    return (
        f"proxy {proxy} epochs, generator {generator}, classifier {classifier}, "
        f"{n} pseudo samples per original {regeneration_words(regenerate_every)}"
    )


def regeneration_words(regenerate_every: int) -> str:
    """When the pseudo samples are made, in words (0: once, before the first epoch)."""
    return "generated once" if regenerate_every == 0 else f"regenerated every {regenerate_every} epoch(s)"


def config_budget_words(config: dict) -> str:
    """`budget_words` of a quality result's config."""
    return budget_words(
        proxy=config["proxy"]["epochs"],
        generator=config["generator"]["epochs"],
        classifier=config["classifier"]["epochs"],
        n=config["n"],
        regenerate_every=config["regenerate_every"],
    )


def write_result(result: dict, out: str | Path) -> None:
    """Write the result JSON atomically (a partial result is replaced by a later one, never torn)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(out)

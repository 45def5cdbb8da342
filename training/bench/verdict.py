"""The three questions a quality run answers, each as a paired difference with its interval:

1. Does DiffusionCLS beat no augmentation?            diffusioncls - none
2. Does it beat the best classic method of the run?   diffusioncls - best of the classic augmenters
3. Does each ablation hurt?                           diffusioncls - ablation (> 0: removing it hurts)

`diffusioncls-chosen` (DiffusionCLS as `fit` trains it) stands in for `diffusioncls` in a run without it.
All three are `paired_runs` (a paired bootstrap) over the seeds both methods ran (same splits, same test examples).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from training.bench.paired import paired_runs

FULL = "diffusioncls"
# DiffusionCLS as `fit` trains it (its loss chosen on validation): the row answered for when a run
# has it and not the paper's `diffusioncls`
CHOSEN = "diffusioncls-chosen"
# Every augmenter the product offers beside DiffusionCLS, text-space or embedding-space (SMOTE writes no
# text but is as much a user's alternative), plus random oversampling, and EDA under DiffusionCLS's own
# loss (`eda-nrt`: the control that tells its text from its loss).
CLASSIC = (
    "eda",
    "eda-nrt",
    "aeda",
    "mlm_substitution",
    "mlm_substitution-pieces",
    "lcda",
    "embed_smote",
    "resample",
    "oversample",
)
ABLATIONS = ("diffusioncls-no-da", "diffusioncls-no-lap", "diffusioncls-no-nrt")


def verdicts(runs: Sequence[dict]) -> dict:
    """{"vs_none", "vs_best_classic", "ablations": {name: ...}} for the methods the run has."""
    methods = {r["method"] for r in runs}
    out: dict = {"vs_none": None, "vs_best_classic": None, "ablations": {}}
    full = FULL if FULL in methods else CHOSEN if CHOSEN in methods else None
    if full is None:
        return out
    if "none" in methods:
        out["vs_none"] = paired_runs(runs, "none", full)
    classic = [m for m in CLASSIC if m in methods]
    if classic:
        best = max(classic, key=lambda m: statistics.fmean(r["macro_f1"] for r in runs if r["method"] == m))
        out["vs_best_classic"] = paired_runs(runs, best, full)
    for ablation in ABLATIONS:
        if ablation in methods:
            out["ablations"][ablation] = paired_runs(runs, ablation, full)
    return out


def format_interval(result: dict | None) -> str:
    """`+1.23 [-0.50, +3.10] *` in macro-F1 points (* = the interval excludes 0), or a dash."""
    if result is None:
        return "–"
    text = f"{100 * result['delta']:+.2f} [{100 * result['low']:+.2f}, {100 * result['high']:+.2f}]"
    return text + (" *" if result["significant"] else "")


def verdict_row(setting: str, runs: Sequence[dict]) -> str:
    """One Markdown row: the setting, then the three answers (the ablations side by side)."""
    v = verdicts(runs)
    best = v["vs_best_classic"]
    classic = f"{format_interval(best)} (vs {best['baseline']})" if best else "–"
    ablations = "; ".join(
        f"{name.removeprefix('diffusioncls-')}: {format_interval(result)}"
        for name, result in v["ablations"].items()
    )
    seeds = len({r["seed"] for r in runs})
    return f"| {setting} | {seeds} | {format_interval(v['vs_none'])} | {classic} | {ablations or '–'} |"


VERDICT_HEADER = (
    "| setting | seeds | DiffusionCLS − none | DiffusionCLS − best classic | DiffusionCLS − ablation "
    "(> 0: the part helps) |\n|---|---|---|---|---|"
)

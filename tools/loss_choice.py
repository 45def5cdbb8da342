"""What `fit`'s choice of loss would have given on quality runs already made:
`python -m tools.loss_choice "NAME=result.json[,more.json]" ...` prints a Markdown table.

`fit` trains its classifier with Lc and with cross-entropy alone and keeps the one with the higher
validation macro-F1 (`training.pipeline.train_choosing_loss`). A quality run's `diffusioncls` and
`diffusioncls-no-nrt` records of a seed are those two classifiers (same seed, same first pseudo
samples), with their validation scores, so the choice is read off them: per seed the record validation
prefers (a tie keeps Lc), paired against each loss and against `none` over the seeds all three ran.
No training: CI never runs it.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from training.bench.paired import paired_runs
from training.bench.verdict import format_interval
from training.pipeline import pick_on_validation

WITH_LC, PLAIN_CE = "diffusioncls", "diffusioncls-no-nrt"
HEADER = (
    "| setting | seeds | kept Lc / CE | none | with Lc | CE alone | chosen | chosen − with Lc "
    "| chosen − CE alone | chosen − none |\n|" + "---|" * 10
)


def chosen_runs(runs: list[dict]) -> tuple[list[dict], list[bool]]:
    """The runs of the seeds that have none, both losses, plus a `chosen` record per seed; and per
    seed whether validation kept Lc."""
    by = {(r["method"], r["seed"]): r for r in runs}
    seeds = sorted(s for (m, s) in by if m == WITH_LC and (PLAIN_CE, s) in by and ("none", s) in by)
    kept_lc = []
    out = [r for r in runs if r["seed"] in seeds]
    for seed in seeds:
        pair = [by[(WITH_LC, seed)], by[(PLAIN_CE, seed)]]
        kept = pick_on_validation([r["val_macro_f1"] for r in pair])
        kept_lc.append(kept == 0)
        out.append({**pair[kept], "method": "chosen"})
    return out, kept_lc


def table_row(name: str, runs: list[dict]) -> str:
    runs, kept_lc = chosen_runs(runs)

    def mean(method: str) -> str:
        return f"{100 * statistics.fmean(r['macro_f1'] for r in runs if r['method'] == method):.2f}"

    cells = [name, str(len(kept_lc)), f"{sum(kept_lc)} / {len(kept_lc) - sum(kept_lc)}"]
    cells += [mean(m) for m in ("none", WITH_LC, PLAIN_CE, "chosen")]
    cells += [format_interval(paired_runs(runs, b, "chosen")) for b in (WITH_LC, PLAIN_CE, "none")]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    print(HEADER)
    for spec in argv:
        name, _, paths = spec.rpartition("=")
        runs = [r for p in paths.split(",") for r in json.loads(Path(p).read_text())["runs"]]
        print(table_row(name or paths, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

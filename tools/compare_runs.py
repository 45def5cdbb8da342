"""One method across quality runs made with different budgets, paired seed by seed against the first:
`python -m tools.compare_runs [--method M] BASE.json OTHER.json ...` prints a Markdown table.

A quality run pairs its methods within one file. Runs of the same data, setting and seeds with another
budget (`--clf-epochs`, `--patience`, `--budget`, ...) draw the same split and test rows per seed, so a
method's predictions pair across files too; the tool checks that each seed's gold labels match and
refuses otherwise. `--method chosen` is the classifier `fit` kept of its two losses until 2026-12-06
(late night; `tools.loss_choice` without `--with-none`: needs `diffusioncls` and `diffusioncls-no-nrt`
in the file). No training: CI never runs it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from tools.loss_choice import chosen_runs
from training.bench.paired import paired_runs
from training.bench.verdict import format_interval


def method_runs(runs: list[dict], method: str) -> list[dict]:
    """The records of `method` in one result file's runs (`chosen`: per seed the loss validation kept)."""
    if method == "chosen":
        runs = chosen_runs(runs)[0]
    return [r for r in runs if r["method"] == method]


def paired_across(base: list[dict], other: list[dict]) -> dict | None:
    """`paired_runs` of `other` against `base`, two runs of one method from two files; None when they
    share no seed. Raises ValueError when a shared seed was scored on other test rows."""
    base_gold = {r["seed"]: r["gold"] for r in base}
    for r in other:
        if r["seed"] in base_gold and r["gold"] != base_gold[r["seed"]]:
            raise ValueError(f"seed {r['seed']}: the two runs scored different test rows; they do not pair")
    return paired_runs(
        [{**r, "method": "base"} for r in base] + [{**r, "method": "other"} for r in other], "base", "other"
    )


def table(files: list[str], method: str) -> str:
    runs = [method_runs(json.loads(Path(f).read_text())["runs"], method) for f in files]
    lines = [
        f"| run | seeds | {method} macro-F1 | − the first run | seeds won |",
        "|---|---|---|---|---|",
    ]
    for path, records in zip(files, runs, strict=True):
        mean = f"{100 * statistics.fmean(r['macro_f1'] for r in records):.2f}" if records else "–"
        paired = paired_across(runs[0], records) if path != files[0] else None
        won = f"{paired['seeds_won']} / {paired['seeds']}" if paired else "–"
        lines.append(
            f"| {Path(path).stem} | {len(records)} | {mean} | {format_interval(paired) if paired else '–'} | {won} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.compare_runs", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--method", default="none", help="method to pair (default none; chosen: fit's loss choice)"
    )
    parser.add_argument("files", nargs="+", help="quality result JSONs; the first is the baseline")
    args = parser.parse_args(argv)
    print(table(args.files, args.method))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

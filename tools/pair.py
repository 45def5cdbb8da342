"""Paired differences between any two methods of quality runs already made, across result files:
`python -m tools.pair "NAME=a.json[,b.json]" ... --pairs "none:diffusioncls-no-nrt-topup,diffusioncls-no-nrt:diffusioncls-no-nrt-topup"`
prints a Markdown table, one row per setting and one column per pair (METHOD minus BASELINE, in
macro-F1 points, with the 95% interval and the seeds won).

`bench report` pairs each method with `none` within one file. Runs made on different days for the same
setting pair too when they share splits and models: their `none` records then give the same test
predictions, which `tools.loss_choice.merged_records` checks (else the tool stops). No training: CI
never runs it.
"""

from __future__ import annotations

import sys

from tools.loss_choice import pop_option, setting_runs
from training.bench.paired import paired_runs
from training.bench.verdict import format_interval


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """ "base:method,base:method" -> [(base, method), ...]."""
    pairs = []
    for item in filter(None, text.split(",")):
        base, sep, method = item.partition(":")
        if not sep or not base or not method:
            raise ValueError(f"a pair is BASELINE:METHOD, not {item!r}")
        pairs.append((base, method))
    return pairs


def pair_cell(runs: list[dict], base: str, method: str) -> str:
    result = paired_runs(runs, base, method)
    if result is None:
        return "–"
    return f"{format_interval(result)} ({result['seeds_won']} of {result['seeds']})"


def main(argv: list[str]) -> int:
    if "--pairs" not in argv or argv[-1] == "--pairs":
        print(__doc__)
        return 2
    specs, listed = pop_option(argv, "--pairs")
    pairs = parse_pairs(listed or "")
    print("| setting | " + " | ".join(f"{m} − {b}" for b, m in pairs) + " |")
    print("|---|" + "---|" * len(pairs))
    for spec in specs:
        name, runs = setting_runs(spec)
        print(f"| {name} | " + " | ".join(pair_cell(runs, b, m) for b, m in pairs) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

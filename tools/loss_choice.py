"""What `fit`'s choice of classifier would have given on quality runs already made:
`python -m tools.loss_choice [--with-none] "NAME=result.json[,more.json]" ...` prints a Markdown table.

`fit` trains its classifier with Lc and with cross-entropy alone on the same pseudo samples and, since
2026-12-06 (late night), with cross-entropy on the originals alone, and keeps the one with the highest
validation macro-F1 (`training.pipeline.train_choosing_classifier`). A quality run's `diffusioncls`,
`diffusioncls-no-nrt` and `none` records of a seed are those classifiers (same seed, same first pseudo
samples, same initialisation and data order), with their validation scores, so the choice is read off
them: per seed the record validation prefers (a tie keeps the earlier candidate, Lc first), paired
against each candidate and against `none` over the seeds all three ran. `--with-none` is `fit`'s choice
now; without it, the choice is between the two losses only, as `fit` made it before. `--filtered`
(with `--with-none`) reads the candidates on pseudo samples the proxy gives their label >= 0.5,
`diffusioncls-filter` and `diffusioncls-no-nrt-filter`: what `fit`'s quick budget chooses from since
2026-12-06. `--against eda,aeda` also pairs the choice with those methods of the same runs. A record
(method, seed) in several of a setting's files must agree on every test
prediction, else the files do not pair and the tool stops. No training: CI never runs it.
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
LOSSES = (WITH_LC, PLAIN_CE)
FILTERED = (f"{WITH_LC}-filter", f"{PLAIN_CE}-filter")
SHORT = {WITH_LC: "Lc", PLAIN_CE: "CE", "none": "none", FILTERED[0]: "Lc", FILTERED[1]: "CE"}
COLUMN = {
    WITH_LC: "with Lc",
    PLAIN_CE: "CE alone",
    "none": "none",
    FILTERED[0]: "filtered, with Lc",
    FILTERED[1]: "filtered, CE alone",
}


def merged_records(files: list[list[dict]]) -> list[dict]:
    """The records of several result files of one setting, each (method, seed) once. A record that
    two files both hold (the `none` of a run made to pair with an earlier one) must have the same
    test predictions in both: otherwise the runs did not share splits and models, and pairing
    across them would be wrong."""
    seen: dict[tuple[str, int], dict] = {}
    for runs in files:
        for r in runs:
            key = (r["method"], r["seed"])
            if key in seen:
                if seen[key]["predictions"] != r["predictions"]:
                    raise ValueError(f"{key[0]} seed {key[1]} differs between files: they do not pair")
                continue
            seen[key] = r
    return list(seen.values())


def chosen_runs(runs: list[dict], candidates: tuple[str, ...] = LOSSES) -> tuple[list[dict], list[int]]:
    """The runs of the seeds that have none and every candidate, plus a `chosen` record per seed; and
    per seed the index of the candidate validation kept."""
    by = {(r["method"], r["seed"]): r for r in runs}
    seeds = sorted(
        s for (m, s) in by if m == candidates[0] and all((c, s) in by for c in (*candidates, "none"))
    )
    kept = []
    out = [r for r in runs if r["seed"] in seeds]
    for seed in seeds:
        records = [by[(c, seed)] for c in candidates]
        index = pick_on_validation([r["val_macro_f1"] for r in records])
        kept.append(index)
        out.append({**records[index], "method": "chosen"})
    return out, kept


def _means(candidates: tuple[str, ...]) -> list[str]:
    """The methods whose mean a row shows, in column order: `none`, then each candidate once."""
    return list(dict.fromkeys(("none", *candidates)))


def _compared(candidates: tuple[str, ...]) -> list[str]:
    """The methods `chosen` is paired against, in column order: each candidate, then `none`, once."""
    return list(dict.fromkeys((*candidates, "none")))


def header(candidates: tuple[str, ...], against: tuple[str, ...] = ()) -> str:
    cells = ["setting", "seeds", "kept " + " / ".join(SHORT[c] for c in candidates)]
    cells += [*(COLUMN[m] for m in _means(candidates)), "chosen"]
    cells += [f"chosen − {COLUMN.get(m, m)}" for m in (*_compared(candidates), *against)]
    return "| " + " | ".join(cells) + " |\n|" + "---|" * len(cells)


def table_row(
    name: str, runs: list[dict], candidates: tuple[str, ...] = LOSSES, against: tuple[str, ...] = ()
) -> str:
    """`against`: other methods of the same runs (another augmenter) to pair the choice with too."""
    runs, kept = chosen_runs(runs, candidates)

    def mean(method: str) -> str:
        return f"{100 * statistics.fmean(r['macro_f1'] for r in runs if r['method'] == method):.2f}"

    cells = [name, str(len(kept)), " / ".join(str(kept.count(i)) for i in range(len(candidates)))]
    cells += [mean(m) for m in (*_means(candidates), "chosen")]
    cells += [format_interval(paired_runs(runs, b, "chosen")) for b in (*_compared(candidates), *against)]
    return "| " + " | ".join(cells) + " |"


def pop_option(argv: list[str], flag: str) -> tuple[list[str], str | None]:
    """`argv` without `flag VALUE`, and VALUE (None when the flag is not given)."""
    if flag not in argv:
        return argv, None
    at = argv.index(flag)
    if at + 1 >= len(argv):
        raise ValueError(f"{flag} needs a value")
    return argv[:at] + argv[at + 2 :], argv[at + 1]


def setting_runs(spec: str) -> tuple[str, list[dict]]:
    """A "NAME=a.json[,b.json]" argument: the setting's name (the paths when none is given) and the
    records of its files, merged (`merged_records`)."""
    name, _, paths = spec.rpartition("=")
    return name or paths, merged_records([json.loads(Path(p).read_text())["runs"] for p in paths.split(",")])


def main(argv: list[str]) -> int:
    losses: tuple[str, ...] = LOSSES
    if "--filtered" in argv:
        argv, losses = [a for a in argv if a != "--filtered"], FILTERED
    argv, listed = pop_option(argv, "--against")
    against = tuple(m for m in (listed or "").split(",") if m)
    candidates = losses
    if argv[:1] == ["--with-none"]:
        argv, candidates = argv[1:], (*losses, "none")
    if not argv:
        print(__doc__)
        return 2
    print(header(candidates, against))
    for spec in argv:
        print(table_row(*setting_runs(spec), candidates, against))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How well ways of choosing a classifier's temperature T calibrate its test probabilities, scored on
quality runs already made: `python -m tools.temperature_rules "NAME=a.json" "NAME=b.json" ...`.

Each bench record holds, per split, the mean NLL and ECE at every temperature of
`training.classifier.calibration.TEMPERATURES` (`calibration.curves`), so a rule that picks one of them
from the validation split is scored on the test split without training anything. Rules:

- `T = 1`: no scaling;
- `fitted`: the lowest validation NLL (how `fit` chose T before the prior);
- `prior`: the most probable T a posteriori under a log-normal prior on T (`pick_temperature`), the
  prior's mean and spread those of the test-best ln T of the records of the *other* settings, so no
  setting is scored with a prior drawn from itself;
- `fixed`: that prior's median, ignoring validation;
- `shipped`: `TEMPERATURE_PRIOR`, the prior `fit` uses (drawn from some settings' records: on the
  others, an out-of-sample check);
- `test-best`: the lowest test NLL, a floor no rule reaches.

Prints a Markdown table per rule and setting (mean test NLL and ECE, and the range of T), the paired
differences of `prior` and `shipped` against `fitted` in test NLL per setting with each rule's ECE,
and the prior all the records together would give. No training: CI never runs it.
"""

from __future__ import annotations

import json
import math
import statistics
import sys

from training.classifier.calibration import TEMPERATURE_PRIOR, TEMPERATURES, pick_temperature

RULES = ("T = 1", "fitted", "prior", "fixed", "shipped", "test-best")


def curve_records(path: str) -> list[dict]:
    """The records of a result file that carry temperature curves."""
    with open(path) as f:
        runs = json.load(f)["runs"]
    return [r for r in runs if "curves" in r.get("calibration", {})]


def best_test_index(record: dict) -> int:
    """The lowest test NLL's index (no prior: the argmin `pick_temperature` takes, smallest on a tie)."""
    return pick_temperature(record["calibration"]["curves"]["test"]["nll"], None)


# the spread of a prior is never taken below one step of the grid (ln 10 / 20): records that all agree
# would otherwise give a prior no validation split could move
MIN_SPREAD = math.log(10) / 20


def log_prior(records: list[dict]) -> tuple[float, float]:
    """Mean and standard deviation (at least `MIN_SPREAD`) of the test-best ln T over `records`."""
    logs = [math.log(TEMPERATURES[best_test_index(r)]) for r in records]
    return statistics.fmean(logs), max(MIN_SPREAD, statistics.pstdev(logs))


def rule_index(rule: str, record: dict, prior: tuple[float, float]) -> int:
    curves = record["calibration"]["curves"]
    sums = [curves["texts"]["val"] * nll for nll in curves["val"]["nll"]]
    if rule == "T = 1":
        return 0
    if rule == "fitted":
        return pick_temperature(sums, None)
    if rule == "prior":
        return pick_temperature(sums, prior)
    if rule == "fixed":
        return pick_temperature([0.0] * len(sums), prior)
    if rule == "shipped":
        return pick_temperature(sums, TEMPERATURE_PRIOR)
    return best_test_index(record)


def main(argv: list[str]) -> int:
    if not argv or any("=" not in a for a in argv):
        print(__doc__)
        return 2
    settings: dict[str, list[dict]] = {}
    for arg in argv:
        name, _, path = arg.partition("=")
        settings.setdefault(name, []).extend(curve_records(path))
    everything = [r for records in settings.values() for r in records]
    print("| setting | runs | validation texts | rule | T (min-max) | test NLL | test ECE |")
    print("|---|---|---|---|---|---|---|")
    paired = {}
    for name, records in settings.items():
        prior = log_prior([r for other, rs in settings.items() if other != name for r in rs])
        per_rule = {}
        val_texts = sorted({r["calibration"]["curves"]["texts"]["val"] for r in records})
        for rule in RULES:
            picks = [rule_index(rule, r, prior) for r in records]
            nll = [r["calibration"]["curves"]["test"]["nll"][k] for r, k in zip(records, picks, strict=True)]
            ece = [r["calibration"]["curves"]["test"]["ece"][k] for r, k in zip(records, picks, strict=True)]
            per_rule[rule] = (nll, ece)
            temps = [TEMPERATURES[k] for k in picks]
            print(
                f"| {name} | {len(records)} | {'/'.join(map(str, val_texts))} | {rule} | "
                f"{min(temps):.2f}-{max(temps):.2f} | {statistics.fmean(nll):.3f} | {statistics.fmean(ece):.3f} |"
            )
        paired[name] = per_rule
    print(
        "\n| setting | test NLL, prior − fitted (runs lower / higher) | test NLL, shipped − fitted "
        "(runs lower / higher) | test ECE: fitted, prior, shipped |"
    )
    print("|---|---|---|---|")
    for name, per_rule in paired.items():
        cells = []
        for rule in ("prior", "shipped"):
            diffs = [a - b for a, b in zip(per_rule[rule][0], per_rule["fitted"][0], strict=True)]
            lower, higher = sum(d < 0 for d in diffs), sum(d > 0 for d in diffs)
            cells.append(f"{statistics.fmean(diffs):+.3f} ({lower} / {higher} of {len(diffs)})")
        eces = ", ".join(
            f"{statistics.fmean(per_rule[rule][1]):.3f}" for rule in ("fitted", "prior", "shipped")
        )
        print(f"| {name} | {cells[0]} | {cells[1]} | {eces} |")
    mu, sigma = log_prior(everything)
    print(
        f"\nprior from all {len(everything)} runs: ln T ~ N({mu:.3f}, {sigma:.3f}^2), median T {math.exp(mu):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

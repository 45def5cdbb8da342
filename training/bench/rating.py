"""Blind fluency ratings, to check the n-gram fluency measure against a reader.

`python -m training.bench.rating make` pools outputs of several methods (JSON files of
`{"method", "original", "output", "label"}` records), shuffles them and writes two files: a sheet
with only an id and the text (what the reader sees) and a key (which method wrote which id).
`python -m training.bench.rating score` reads the reader's answers (`id,fluent` with yes/no) and
reports, per method, the share rated fluent, and how well the n-gram measure agrees with the reader:
accuracy and Cohen's kappa of the measure's yes/no at its threshold, and the AUC of its score.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections.abc import Sequence
from pathlib import Path

from training.fluency import FLUENT_LOG_RATIO, NgramLM


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Agreement beyond chance of two yes/no raters: (p_o - p_e) / (1 - p_e)."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """P(score of a random positive > score of a random negative), ties counting one half."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def make_sheet(records: list[dict], *, size: int, seed: int, sheet: Path, key: Path) -> None:
    rng = random.Random(seed)
    by_method: dict[str, list[dict]] = {}
    for r in records:
        by_method.setdefault(r["method"], []).append(r)
    per = size // len(by_method)
    chosen = [r for group in by_method.values() for r in rng.sample(group, min(per, len(group)))]
    rng.shuffle(chosen)
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for i, r in enumerate(chosen):
            writer.writerow([i, r["output"]])
    key.write_text(json.dumps([{"id": i, **r} for i, r in enumerate(chosen)], indent=1, ensure_ascii=False))


def score(key: Path, answers: Path, lm: NgramLM) -> dict:
    items = {r["id"]: r for r in json.loads(key.read_text(encoding="utf-8"))}
    with answers.open(encoding="utf-8") as fh:
        rated = {
            int(row["id"]): row["fluent"].strip().lower() in ("yes", "y", "1", "true")
            for row in csv.DictReader(fh)
        }
    ids = sorted(rated)
    human = [rated[i] for i in ids]
    ratio = [lm.log_ppl_ratio(items[i]["output"], items[i]["original"]) for i in ids]
    machine = [r <= FLUENT_LOG_RATIO for r in ratio]
    per_method: dict[str, dict] = {}
    for i, h, m in zip(ids, human, machine, strict=True):
        row = per_method.setdefault(items[i]["method"], {"rated": 0, "reader_fluent": 0, "measure_fluent": 0})
        row["rated"] += 1
        row["reader_fluent"] += h
        row["measure_fluent"] += m
    return {
        "rated": len(ids),
        "reader_fluent_share": sum(human) / len(ids),
        "measure_fluent_share": sum(machine) / len(ids),
        "accuracy": sum(h == m for h, m in zip(human, machine, strict=True)) / len(ids),
        "kappa": cohen_kappa(human, machine),
        "auc": auc([-r for r in ratio], human),  # lower ratio = more fluent
        "threshold_log_ratio": FLUENT_LOG_RATIO,
        "per_method": per_method,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.bench.rating", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="pool and shuffle outputs into a blind sheet and its key")
    m.add_argument("records", nargs="+", help="JSON files with method/original/output/label records")
    m.add_argument("--size", type=int, default=100)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--sheet", required=True)
    m.add_argument("--key", required=True)
    s = sub.add_parser("score", help="agreement of the reader's answers with the n-gram measure")
    s.add_argument("--key", required=True)
    s.add_argument("--answers", required=True, help="CSV with id,fluent (yes/no)")
    s.add_argument("--lm", required=True)
    s.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.command == "make":
        records = [r for path in args.records for r in json.loads(Path(path).read_text(encoding="utf-8"))]
        make_sheet(records, size=args.size, seed=args.seed, sheet=Path(args.sheet), key=Path(args.key))
        print(f"wrote {args.sheet} and {args.key}")
        return 0
    result = score(Path(args.key), Path(args.answers), NgramLM.load(args.lm))
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Blind fluency ratings, to check the n-gram fluency measure against a reader.

`python -m training.bench.rating make` pools outputs of several methods (JSON files of
`{"method", "original", "output", "label"}` records), shuffles them and writes two files: a sheet
with only an id and the text (what the reader sees) and a key (which method wrote which id).
`python -m training.bench.rating score` reads the reader's answers (`id,fluent` with yes/no) and
reports, per method, the share rated fluent, and how well the n-gram measure agrees with the reader:
accuracy and Cohen's kappa of the measure's yes/no at its threshold, and the AUC of its score.

`label-sheet` and `score-labels` ask what a reader makes of a quality run's pseudo samples: the
examples `bench quality` keeps of each method (`samples.examples`), shuffled with their originals into
one sheet, and for each text the reader names its label and says whether it is fluent. The score is,
per source (the originals and each method), the share given the intended label and the share fluent,
each with a Wilson 95% interval.

`pairs` and `score-pairs` compare two decoding settings of one `bench decoding` result more finely:
the same original rewritten under each (same seed, so the same masks) is shown as A and B in a random
order, and the reader says which reads more like fluent English, or `same`. The score is each
setting's wins, the ties, and a two-sided sign test over the pairs that were not ties.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from collections.abc import Sequence
from pathlib import Path

from training.fluency import FLUENT_LOG_RATIO, NgramLM

SAME = "same"


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


def said_yes(answer: str) -> bool:
    """A reader's yes/no cell read as yes (yes, y, 1 or true, any case and spacing)."""
    return answer.strip().lower() in ("yes", "y", "1", "true")


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
        rated = {int(row["id"]): said_yes(row["fluent"]) for row in csv.DictReader(fh)}
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


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion: well-behaved at small n and at 0 or n successes."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


ORIGINAL = "original"


def make_label_sheet(result: dict, methods: Sequence[str], *, seed: int, sheet: Path, key: Path) -> int:
    """Sheet (id, text) of the kept examples of `methods` in a `bench quality` result, with each
    original of the first method's examples once, shuffled; the key names each text's source and
    intended label. Returns the number of texts."""
    items: list[dict] = []
    originals: set[tuple[str, str]] = set()
    for record in result["runs"]:
        if record["method"] not in methods:
            continue
        for example in (record.get("samples") or {}).get("examples", []):
            items.append(
                {
                    "source": record["method"],
                    "seed": record["seed"],
                    "label": example["label"],
                    "text": example["text"],
                }
            )
            pair = (example["original"], example["label"])
            if record["method"] == methods[0] and pair not in originals:
                originals.add(pair)
                items.append(
                    {
                        "source": ORIGINAL,
                        "seed": record["seed"],
                        "label": example["label"],
                        "text": example["original"],
                    }
                )
    if not items:
        raise ValueError(f"the result keeps no examples of {list(methods)}")
    random.Random(seed).shuffle(items)
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for i, item in enumerate(items, start=1):
            item["id"] = i
            writer.writerow([i, item["text"]])
    key.write_text(json.dumps(items, indent=1, ensure_ascii=False))
    return len(items)


def score_label_sheet(key: Path, answers: Path) -> dict:
    """Per source: texts rated, the share the reader gave the intended label and the share rated
    fluent, each with its Wilson 95% interval. Every id of the key must be answered."""
    items = {item["id"]: item for item in json.loads(key.read_text(encoding="utf-8"))}
    with answers.open(encoding="utf-8") as fh:
        rated = {int(row["id"]): row for row in csv.DictReader(fh)}
    if set(rated) != set(items):
        raise ValueError(f"answers cover {len(rated)} ids, the key {len(items)}: every text needs an answer")
    per_source: dict[str, dict] = {}
    for i, item in items.items():
        row = per_source.setdefault(item["source"], {"rated": 0, "label_kept": 0, "fluent": 0})
        row["rated"] += 1
        row["label_kept"] += rated[i]["label"].strip().lower() == item["label"].lower()
        row["fluent"] += said_yes(rated[i]["fluent"])
    for row in per_source.values():
        for part in ("label_kept", "fluent"):
            row[f"{part}_interval"] = wilson_interval(row[part], row["rated"])
    return per_source


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact sign test: P(a split at least this uneven | each non-tie pair is a fair coin)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def make_pair_sheet(
    result: dict, first: str, second: str, *, seed: int, sheet: Path, key: Path, size: int | None = None
) -> int:
    """Sheet of the pairs whose two outputs differ (id, a, b), and its key; returns the pairs written."""
    rng = random.Random(seed)
    one, two = result["examples"][first], result["examples"][second]
    pairs = [
        (x["original"], x["label"], x["output"], y["output"])
        for x, y in zip(one, two, strict=True)
        if x["original"] == y["original"] and x["output"] != y["output"]
    ]
    if size is not None:
        pairs = rng.sample(pairs, min(size, len(pairs)))
    rng.shuffle(pairs)
    keyed = []
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "a", "b"])
        for i, (original, label, out_one, out_two) in enumerate(pairs):
            swap = rng.random() < 0.5
            a, b = (out_two, out_one) if swap else (out_one, out_two)
            writer.writerow([i, a, b])
            keyed.append(
                {"id": i, "a": second if swap else first, "b": first if swap else second,
                 "original": original, "label": label, "text_a": a, "text_b": b}
            )  # fmt: skip
    key.write_text(json.dumps({"settings": [first, second], "pairs": keyed}, indent=1, ensure_ascii=False))
    return len(pairs)


def score_pairs(key: Path, answers: Path) -> dict:
    """Wins of each setting (the reader's `a`/`b` mapped back through the key), ties and the sign test."""
    body = json.loads(key.read_text(encoding="utf-8"))
    first, second = body["settings"]
    items = {p["id"]: p for p in body["pairs"]}
    wins = {first: 0, second: 0}
    ties = 0
    with answers.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            choice = row["choice"].strip().lower()
            if choice == SAME:
                ties += 1
            elif choice in ("a", "b"):
                wins[items[int(row["id"])][choice]] += 1
            else:
                raise ValueError(f"answer {row['id']}: choice must be a, b or {SAME}, got {row['choice']!r}")
    return {
        "settings": [first, second],
        "wins": wins,
        "ties": ties,
        "rated": ties + sum(wins.values()),
        "sign_test_p": sign_test_p(wins[first], wins[second]),
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
    p = sub.add_parser("pairs", help="blind A/B sheet of two settings' rewrites of the same originals")
    p.add_argument("result", help="JSON written by bench decoding")
    p.add_argument("--settings", required=True, help="the two settings compared, e.g. default,rep1.5")
    p.add_argument("--size", type=int, default=None, help="at most this many pairs (default: every one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet", required=True)
    p.add_argument("--key", required=True)
    ls = sub.add_parser(
        "label-sheet", help="blind sheet of a quality run's kept examples and their originals"
    )
    ls.add_argument("result", help="JSON written by bench quality")
    ls.add_argument(
        "--methods", required=True, help="comma-separated; the first one's originals join the sheet"
    )
    ls.add_argument("--seed", type=int, default=7)
    ls.add_argument("--sheet", required=True)
    ls.add_argument("--key", required=True)
    sl = sub.add_parser("score-labels", help="per source, the shares given the intended label and fluent")
    sl.add_argument("--key", required=True)
    sl.add_argument("--answers", required=True, help="CSV with id,label,fluent (yes/no)")
    sl.add_argument("--out", default=None)
    sp = sub.add_parser("score-pairs", help="wins, ties and sign test of the reader's A/B answers")
    sp.add_argument("--key", required=True)
    sp.add_argument("--answers", required=True, help="CSV with id,choice (a, b or same)")
    sp.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.command == "pairs":
        first, second = args.settings.split(",")
        result = json.loads(Path(args.result).read_text(encoding="utf-8"))
        count = make_pair_sheet(
            result, first, second, seed=args.seed, sheet=Path(args.sheet), key=Path(args.key), size=args.size
        )
        print(f"wrote {count} pairs to {args.sheet} and {args.key}")
        return 0
    if args.command == "label-sheet":
        result = json.loads(Path(args.result).read_text(encoding="utf-8"))
        methods = args.methods.split(",")
        count = make_label_sheet(result, methods, seed=args.seed, sheet=Path(args.sheet), key=Path(args.key))
        print(f"wrote {count} texts to {args.sheet} and {args.key}")
        return 0
    if args.command == "score-labels":
        _report(score_label_sheet(Path(args.key), Path(args.answers)), args.out)
        return 0
    if args.command == "score-pairs":
        _report(score_pairs(Path(args.key), Path(args.answers)), args.out)
        return 0
    if args.command == "make":
        records = [r for path in args.records for r in json.loads(Path(path).read_text(encoding="utf-8"))]
        make_sheet(records, size=args.size, seed=args.seed, sheet=Path(args.sheet), key=Path(args.key))
        print(f"wrote {args.sheet} and {args.key}")
        return 0
    _report(score(Path(args.key), Path(args.answers), NgramLM.load(args.lm)), args.out)
    return 0


def _report(result: dict, out: str | None) -> None:
    """Print a score as JSON, and write it to `out` when given."""
    text = json.dumps(result, indent=2)
    if out:
        Path(out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    raise SystemExit(main())

"""Which words a checkpoint's rewrites insert, per label, under several guidance scales:
`python -m tools.inserted_words CHECKPOINT TEXTS.csv [--guidance 1,2,3] [--prior 0,0.5] [--n 1] [--seed 0]
[--out FILE.json]`
prints a Markdown table.

distinct-n over whole outputs hides a generator that fills its masks with a few stock words, since most
of each output is its original's words. Here each output's inserted words (words its original lacks,
English function words left out) are pooled per label: the five most often inserted, the share of
outputs that hold one of them (`training.bench.diversity.stock_word_share`), distinct-2 of the label's
outputs, and how often the checkpoint's own classifier gives the intended label (not a held-out judge:
it was trained on the originals). No training; CI never runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from training.bench.diversity import distinct_n, inserted_words, stock_word_share

FUNCTION_WORDS = frozenset(
    "a an the and or but so of to in on at for from by with as into about after before over under "
    "i me my we us our you your he him his she her it its they them their this that these those "
    "is am are was were be been being do does did have has had will would can could not no just "
    "all up out very too than then there here what when who which how".split()
)


def label_rows(originals: list[str], outputs: list[tuple[int, str, str, str | None]]) -> dict[str, dict]:
    """Per label: distinct-2, the top inserted words, the stock-word share and the classifier's agreement,
    from (source index, text, intended label, predicted label) outputs."""
    by_label: dict[str, list[tuple[int, str, str | None]]] = defaultdict(list)
    for index, text, label, predicted in outputs:
        by_label[label].append((index, text, predicted))
    rows = {}
    for label, items in sorted(by_label.items()):
        inserted = [inserted_words(originals[i], text, ignore=FUNCTION_WORDS) for i, text, _ in items]
        share, top = stock_word_share(inserted, 5)
        rows[label] = {
            "outputs": len(items),
            "distinct_2": distinct_n([text for _, text, _ in items], 2),
            "top_inserted": top,
            "stock_share": share,
            "classifier_agrees": sum(p == label for *_, p in items) / len(items),
        }
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.inserted_words", description=__doc__.split("\n")[0]
    )
    parser.add_argument("checkpoint")
    parser.add_argument("texts", help="labelled CSV (text,label)")
    parser.add_argument("--guidance", default="1,2,3", help="guidance scales, comma-separated")
    parser.add_argument(
        "--prior", default=None, help="prior corrections, comma-separated (default: the checkpoint's)"
    )
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the figures and every output as JSON")
    args = parser.parse_args(argv)

    from training import Augmenter
    from training.data import read_labelled

    data = read_labelled(args.texts)
    texts, labels = list(data.texts), list(data.labels)
    augmenter = Augmenter.from_pretrained(args.checkpoint)
    print(
        "| guidance | prior correction | label | outputs | distinct-2 | most inserted words (outputs) "
        "| share holding one | classifier agrees |"
    )
    print("|---|---|---|---|---|---|---|---|")
    record = {}
    priors = [None] if args.prior is None else [float(p) for p in args.prior.split(",")]
    for scale in (float(g) for g in args.guidance.split(",")):
        for prior in priors:
            result = augmenter.augment(
                texts, labels, n=args.n, seed=args.seed, guidance_scale=scale, prior_correction=prior
            )
            outputs = [(o.source_index, o.text, o.label, o.predicted_label) for o in result.outputs]
            rows = label_rows(texts, outputs)
            shown = augmenter.checkpoint.settings.sampler.prior_correction if prior is None else prior
            for label, row in rows.items():
                words = ", ".join(f"{w} ({c})" for w, c in row["top_inserted"])
                print(
                    f"| {scale:g} | {shown:g} | {label} | {row['outputs']} | {row['distinct_2']:.3f} | {words} "
                    f"| {100 * row['stock_share']:.0f}% | {100 * row['classifier_agrees']:.0f}% |"
                )
            key = f"{scale:g}" if prior is None else f"{scale:g}/prior {prior:g}"
            record[key] = {"labels": rows, "outputs": [[texts[i], t, y] for i, t, y, _ in outputs]}
    if args.out:
        args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

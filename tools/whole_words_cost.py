"""What the whole-word rule costs the generator's decoding:
`python -m tools.whole_words_cost --checkpoint DIR --texts FILE [--limit 300] [--rounds 5]`.

Rewrites the same labelled texts (n = 1, the checkpoint's decoding defaults) with
`DiffusionOptions.whole_words` on and off, alternating over several rounds in one process on one
torch thread, so the shared machine's load falls on both alike; prints samples/s per round and the
on/off ratio (docs/FLUENCY.md, 2026-12-05). Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from training.augmenters.diffusion import DiffusionAugmenter, DiffusionOptions
from training.checkpoint import load_checkpoint
from training.data import read_labelled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.whole_words_cost", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a fitted checkpoint folder")
    parser.add_argument("--texts", required=True, help="labelled CSV (text,label) to rewrite")
    parser.add_argument("--limit", type=int, default=300, help="texts used, from the top (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of on and off (default 5)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = read_labelled(args.texts)
    texts, labels = list(data.texts[: args.limit]), list(data.labels[: args.limit])
    checkpoint = load_checkpoint(args.checkpoint, torch.device("cpu"))
    augmenter = DiffusionAugmenter.from_checkpoint(checkpoint)
    options = DiffusionOptions.from_settings(checkpoint.settings.sampler)
    augmenter.augment(texts[:20], labels[:20], [1] * min(20, len(texts)), seed=0, options=options)  # warm-up
    rates: dict[bool, list[float]] = {True: [], False: []}
    for r in range(args.rounds):
        for whole_words in (True, False):
            started = time.perf_counter()
            result = augmenter.augment(
                texts, labels, [1] * len(texts), seed=r, options=replace(options, whole_words=whole_words)
            )
            rates[whole_words].append(len(result.augmentations) / (time.perf_counter() - started))
    for whole_words, label in ((True, "whole words"), (False, "pieces allowed")):
        row = " ".join(f"{x:.1f}" for x in rates[whole_words])
        print(f"{label:15} samples/s {row}  median {statistics.median(rates[whole_words]):.1f}")
    ratios = [a / b for a, b in zip(rates[True], rates[False], strict=True)]
    row = " ".join(f"{x:.2f}" for x in ratios)
    print(f"whole words / pieces allowed, per round {row}  median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

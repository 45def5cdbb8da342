"""How fast the pretraining feed is, with and without a token cache:
`python -m tools.pretrain_feed --base FOLDER --corpus FILE [--cache DIR] [--steps 20]`.

Times the CPU work of one pretraining step (drawing windows through the shuffle buffer, drawing the
masks, building the batch) for 256 windows of at most 126 pieces, reading the corpus as text and
from its token cache, side by side in one run, on one torch thread. No model runs: this is the rate a
GPU can be fed at (docs/FLUENCY.md). Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from training.pretrain import PretrainConfig, WindowStream, draw_masks, masked_batch, parse_source
from training.pretrain.token_cache import load_or_build


def time_feed(stream: WindowStream, config: PretrainConfig, *, steps: int, tokenizer) -> dict[str, float]:
    """Milliseconds per step of each part of the feed, and the feed's tokens/s."""
    generator = torch.Generator().manual_seed(config.seed)
    stream.next_batch(config.batch_size)  # fill the shuffle buffer first
    spent = {"windows drawn": 0.0, "masks drawn": 0.0, "batch built": 0.0}
    tokens = 0
    for _ in range(steps):
        a = time.perf_counter()
        windows = stream.next_batch(config.batch_size)
        b = time.perf_counter()
        masks = draw_masks([len(w) for w in windows], config, generator)
        c = time.perf_counter()
        masked_batch(windows, masks, tokenizer)
        d = time.perf_counter()
        for part, seconds in zip(spent, (b - a, c - b, d - c), strict=True):
            spent[part] += seconds
        tokens += sum(len(w) + 2 for w in windows)
    return {**{k: 1000 * v / steps for k, v in spent.items()}, "tokens/s": tokens / sum(spent.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.pretrain_feed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--base", required=True, help="base model folder (its tokenizer is used)")
    parser.add_argument("--corpus", required=True, help=".txt/.txt.gz corpus, one document a line")
    parser.add_argument(
        "--cache", default="runs/token-cache", help="token cache folder (default runs/token-cache)"
    )
    parser.add_argument("--steps", type=int, default=20, help="steps timed per feed (default 20)")
    args = parser.parse_args(argv)
    from transformers import AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    config = PretrainConfig(steps=args.steps, batch_size=256, max_length=128)
    started = time.perf_counter()
    cache = load_or_build(
        parse_source(args.corpus), tokenizer, config.max_length - 2, folder=Path(args.cache)
    )
    print(f"token cache ready in {time.perf_counter() - started:.0f} s")
    print("| feed | windows drawn | masks drawn | batch built | tokens/s |\n|---|---|---|---|---|")
    for name, caches in (("text", None), ("token cache", [cache])):
        stream = WindowStream(
            [parse_source(args.corpus)], tokenizer, config.max_length - 2, config=config, caches=caches
        )
        r = time_feed(stream, config, steps=args.steps, tokenizer=tokenizer)
        print(
            f"| {name} | {r['windows drawn']:.1f} ms | {r['masks drawn']:.1f} ms | {r['batch built']:.1f} ms "
            f"| {r['tokens/s']:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the sampler's time goes: `python -m tools.sampler_profile --base FOLDER --texts FILE [options]`.

Runs the diffusion sampler (untrained label rows: the computation of a fitted one, speed only) under
torch.profiler and prints the operators that took the most time on the CPU side and, on a GPU, on the
device. On a GPU the sampler falls far short of the bare encoder's throughput (docs/SPEED.md); this
table says which per-round work to fuse. Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch.profiler import ProfilerActivity, profile

from training.augmenters.diffusion import DiffusionOptions
from training.bench.speed import exact_length_texts, replace_window, untrained_augmenter
from training.common import resolve_device
from training.data import read_texts
from training.defaults import DEFAULT_STEPS
from training.generator import PREFIX_LENGTH
from training.sampler import DecodeConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.sampler_profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--base", required=True, help="base MLM folder")
    parser.add_argument("--texts", required=True, help="file of real texts (.csv text column or .txt)")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    parser.add_argument("--batch", type=int, default=512, help="sequences decoded together (default 512)")
    parser.add_argument("--rounds", type=int, default=8, help="decoding rounds K (default 8)")
    parser.add_argument("--seq-len", type=int, default=64, help="prompt tokens (default 64)")
    parser.add_argument("--calls", type=int, default=3, help="profiled sampler calls after one warm-up")
    parser.add_argument("--rows", type=int, default=25, help="operators shown per table (default 25)")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    augmenter = untrained_augmenter(args.base, device)
    content_len = args.seq_len - PREFIX_LENGTH - 1
    augmenter = replace_window(augmenter, content_len)
    inputs = max(1, args.batch // 4)
    texts = exact_length_texts(augmenter, read_texts(args.texts), content_len=content_len, count=inputs)[
        :inputs
    ]
    labels = [augmenter.labels[i % len(augmenter.labels)] for i in range(len(texts))]
    options = DiffusionOptions(
        steps=DEFAULT_STEPS,
        decode=DecodeConfig(rounds=args.rounds),
        max_attempts=1,
        batch_size=args.batch,
        max_batch_tokens=args.batch * args.seq_len,
        score=False,
    )

    def run() -> None:
        augmenter.augment(texts, labels, [args.batch // len(texts)] * len(texts), seed=0, options=options)
        if device.type == "cuda":
            torch.cuda.synchronize()

    run()  # warm-up: kernels chosen, caches filled
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(args.calls):
            run()
    table = prof.key_averages()
    print(f"sampler on {device}: batch {args.batch}, K = {args.rounds}, {args.calls} calls profiled")
    print(table.table(sort_by="self_cpu_time_total", row_limit=args.rows))
    if device.type == "cuda":
        print(table.table(sort_by="self_cuda_time_total", row_limit=args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The flags of the model benchmarks: `bench speed` (the sampler against the forward-pass limit) and
`bench mlm` (base models' masked-token accuracy). `training.cli.bench` adds these parsers and sets
their handlers."""

from __future__ import annotations

import argparse

from training.cli.options import add_device


def add_speed(bench) -> argparse.ArgumentParser:
    sp = bench.add_parser(
        "speed", help="sampler vs forward-pass limit, a naive decoder and nlpaug, in one run"
    )
    src = sp.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a fitted checkpoint (its generator and classifier or proxy)")
    src.add_argument("--base", help="a base MLM folder: speed only, with untrained label rows and proxy")
    sp.add_argument("--texts", required=True, help="file of real texts (.csv/.jsonl text column or .txt)")
    sp.add_argument("--seq-len", type=int, default=64, help="prompt tokens of every input")
    sp.add_argument("--batch-sizes", default="1,8,32,128", help="comma-separated batch sizes")
    sp.add_argument("--rounds", default="1,4,8", help="comma-separated decoding rounds K")
    sp.add_argument("--min-seconds", type=float, default=3.0, help="least time per measurement")
    sp.add_argument("--naive-samples", type=int, default=3, help="samples of the one-token-per-pass decoder")
    sp.add_argument("--nlpaug-python", default=None, help="interpreter with nlpaug (default: this one)")
    sp.add_argument("--nlpaug-model", default=None, help="MLM folder for nlpaug (default: --base)")
    sp.add_argument("--nlpaug-samples", type=int, default=64, help="samples timed through nlpaug")
    sp.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    add_device(sp)
    sp.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")
    return sp


def add_mlm(bench) -> argparse.ArgumentParser:
    m = bench.add_parser(
        "mlm", help="masked-token accuracy and pseudo-perplexity of base models, side by side"
    )
    m.add_argument("--bases", required=True, nargs="+", help="base MLM folders or HF ids")
    m.add_argument("--heldout", required=True, nargs="+", help="held-out text files (.txt/.txt.gz/.csv)")
    m.add_argument("--rates", default="0.15,0.5", help="masking rates (default 0.15,0.5)")
    m.add_argument("--windows", type=int, default=512, help="held-out windows per file (default 512)")
    m.add_argument(
        "--pppl-windows", type=int, default=48, help="windows scored for pseudo-perplexity (default 48)"
    )
    m.add_argument(
        "--max-length", type=int, default=64, help="pieces per window, specials included (default 64)"
    )
    m.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    m.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")
    return m

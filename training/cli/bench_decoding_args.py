"""The flags of `bench decoding` (decoding settings compared on one checkpoint) and of `bench
fluency-lm` (the n-gram fluency model it scores with). `training.cli.bench` adds these parsers and
sets their handlers."""

from __future__ import annotations

import argparse


def add_decoding(bench) -> argparse.ArgumentParser:
    d = bench.add_parser(
        "decoding", help="fluency / label kept / words changed / speed of decoding settings on one checkpoint"
    )
    d.add_argument("--checkpoint", required=True, help="a fitted checkpoint folder")
    d.add_argument(
        "--texts", required=True, help="labelled CSV of originals (from the checkpoint's training data)"
    )
    d.add_argument(
        "--limit", type=int, default=200, help="originals used, a stratified-by-order head (default 200)"
    )
    d.add_argument("--n", type=int, default=1, help="outputs per original and setting (default 1)")
    d.add_argument("--lm", required=True, help="n-gram fluency model (.npz from bench fluency-lm)")
    d.add_argument(
        "--judge", default=None, help="held-out judge: a classifier folder, or a labelled CSV to fit one on"
    )
    d.add_argument(
        "--judge-out", default=None, help="where a judge fitted from a CSV is saved (reused when present)"
    )
    d.add_argument(
        "--setting",
        action="append",
        required=True,
        help="name:steps=13-16,rounds=4,temperature=1,top_p=1,top_k=0,guidance_scale=1,guided_rounds=0,min_label_prob=0 (repeatable)",
    )
    d.add_argument("--seed", type=int, default=0, help="seed of the rewrites (default 0)")
    d.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    d.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")
    return d


def add_fluency_lm(bench) -> argparse.ArgumentParser:
    f = bench.add_parser("fluency-lm", help="build the word trigram Kneser-Ney fluency model from plain text")
    f.add_argument(
        "--texts", required=True, nargs="+", help=".txt/.txt.gz/.csv/.jsonl files (split into sentences)"
    )
    f.add_argument("--min-count", type=int, default=2, help="rarer words are <unk> (default 2)")
    f.add_argument("--out", required=True, help="model file (.npz)")
    return f

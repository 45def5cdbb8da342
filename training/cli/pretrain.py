"""`python -m training pretrain`: masked-LM training of a whole base encoder."""

from __future__ import annotations

import dataclasses
import json

from training.cli.options import add_common
from training.pretrain_config import PretrainConfig

# The budget and schedule flags: (PretrainConfig field, type, help). The defaults are the config's own,
# so the command line and the library cannot drift apart; the help formatter appends them.
SCHEDULE_FLAGS: tuple[tuple[str, type, str], ...] = (
    ("minutes", float, "wall-clock training budget (default: none)"),
    ("steps", int, "optimiser steps (default: none; give this or --minutes)"),
    ("lr", float, "peak learning rate"),
    ("head_lr", float, "learning rate of the MLM head (default: --lr)"),
    ("layer_decay", float, "layer-wise lr decay per layer (1 = off)"),
    ("warmup_steps", int, "linear warm-up steps"),
    ("batch_size", int, "windows per optimiser step"),
    ("accumulate", int, "micro-batches per step"),
    ("max_length", int, "pieces per window, specials included"),
    ("classic_share", float, "share of windows masked at 15%% (the rest U(0.05, 1))"),
    ("eval_every", int, "steps between held-out scores"),
    ("save_every_s", float, "seconds between resumable states"),
)


def register(sub) -> None:
    p = sub.add_parser(
        "pretrain", help="masked-LM training of a whole base encoder on large unlabelled corpora (resumable)"
    )
    p.add_argument(
        "--base",
        required=True,
        help="HF model id or folder to start from (an MLM head is created if missing)",
    )
    p.add_argument(
        "--texts",
        required=True,
        nargs="+",
        help="corpora: .txt/.txt.gz (one document a line), .csv/.tsv/.jsonl (text column); FILE:W weights a file's share",
    )
    p.add_argument("--text-column", default="text", help="text column of CSV/JSONL corpora (default text)")
    p.add_argument(
        "--heldout", nargs="*", default=[], help="held-out files scored at 15%% masking while training"
    )
    p.add_argument("--out", required=True, help="output model folder (usable as --base of fit)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/pretrain-state.pt when present")
    p.add_argument(
        "--token-cache",
        default=None,
        help="folder where each corpus is tokenised once and read back (the feed then keeps up with a GPU; "
        "a run gives the same batches with or without it)",
    )
    g = p.add_argument_group("budget and schedule")
    defaults = {f.name: f.default for f in dataclasses.fields(PretrainConfig)}
    for field, kind, text in SCHEDULE_FLAGS:
        flag = "--" + field.removesuffix("_s").replace("_", "-")
        metavar = flag[2:].replace("-", "_").upper()
        g.add_argument(flag, dest=field, metavar=metavar, type=kind, default=defaults[field], help=text)
    add_common(p)
    p.set_defaults(run=_cmd_pretrain)


def _cmd_pretrain(args) -> int:
    from pathlib import Path

    from training.pretrain import (
        PretrainRun,
        heldout_name,
        heldout_windows,
        parse_source,
        run_pretraining,
    )

    config = PretrainConfig(
        **{field: getattr(args, field) for field, _, _ in SCHEDULE_FLAGS},
        precision=args.precision,
        seed=args.seed,
    )
    sources = [parse_source(spec, args.text_column) for spec in args.texts]
    for source in sources:
        if not source.path.is_file():
            raise SystemExit(f"error: {source.path} does not exist")
    from transformers import AutoTokenizer

    from training.common import pretrained_kwargs

    tokenizer = AutoTokenizer.from_pretrained(str(args.base), **pretrained_kwargs(args.base))
    heldout = {
        heldout_name(path): heldout_windows(
            path, tokenizer, max_length=config.max_length, limit=config.eval_windows
        )
        for path in args.heldout
    }
    run = PretrainRun(
        base=args.base,
        sources=sources,
        out=Path(args.out),
        config=config,
        heldout=heldout,
        device=args.device,
        resume=args.resume,
        progress=not args.quiet,
        token_cache=Path(args.token_cache) if args.token_cache else None,
    )
    report = run_pretraining(run)
    print(
        json.dumps(
            {k: report[k] for k in ("steps", "tokens", "training_minutes", "tokens_per_second")}, indent=2
        )
    )
    print(f"held-out top-1 at 15%: {report['history'][-1]['heldout_top1_15']}")
    print(f"wrote {args.out}")
    return 0

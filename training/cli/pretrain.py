"""`python -m training pretrain`: masked-LM training of a whole base encoder."""

from __future__ import annotations

import json

from training.cli.options import add_common


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
    g = p.add_argument_group("budget and schedule")
    g.add_argument("--minutes", type=float, default=None, help="wall-clock training budget (default: none)")
    g.add_argument(
        "--steps", type=int, default=None, help="optimiser steps (default: none; give this or --minutes)"
    )
    g.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (default 3e-4)")
    g.add_argument(
        "--head-lr", type=float, default=None, help="learning rate of the MLM head (default: --lr)"
    )
    g.add_argument(
        "--layer-decay", type=float, default=1.0, help="layer-wise lr decay per layer (default 1 = off)"
    )
    g.add_argument("--warmup-steps", type=int, default=100, help="linear warm-up steps (default 100)")
    g.add_argument("--batch-size", type=int, default=64, help="windows per optimiser step (default 64)")
    g.add_argument("--accumulate", type=int, default=1, help="micro-batches per step (default 1)")
    g.add_argument(
        "--max-length", type=int, default=64, help="pieces per window, specials included (default 64)"
    )
    g.add_argument(
        "--classic-share",
        type=float,
        default=0.5,
        help="share of windows masked at 15%% (default 0.5; the rest U(0.05, 1))",
    )
    g.add_argument("--eval-every", type=int, default=200, help="steps between held-out scores (default 200)")
    g.add_argument(
        "--save-every", type=float, default=300.0, help="seconds between resumable states (default 300)"
    )
    add_common(p)
    p.set_defaults(run=_cmd_pretrain)


def _cmd_pretrain(args) -> int:
    from pathlib import Path

    from training.pretrain import (
        PretrainConfig,
        PretrainRun,
        heldout_name,
        heldout_windows,
        parse_source,
        run_pretraining,
    )

    config = PretrainConfig(
        lr=args.lr,
        head_lr=args.head_lr,
        layer_decay=args.layer_decay,
        warmup_steps=args.warmup_steps,
        batch_size=args.batch_size,
        accumulate=args.accumulate,
        max_length=args.max_length,
        classic_share=args.classic_share,
        steps=args.steps,
        minutes=args.minutes,
        eval_every=args.eval_every,
        save_every_s=args.save_every,
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
        heldout_name(path): heldout_windows(path, tokenizer, config.max_length, config.eval_windows)
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

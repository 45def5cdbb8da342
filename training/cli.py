"""`python -m training <command>`: pretrain, fit, augment (with any method of the registry), classify, evaluate,
bench."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import sys
import time
from pathlib import Path

from training.data import DataError


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    p.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="auto",
        help="fp32, bf16 (mixed precision) or auto: bf16 where the hardware computes it natively (default)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _generator_args(p: argparse.ArgumentParser, epochs: int, lr: float) -> None:
    g = p.add_argument_group("generator training")
    g.add_argument("--gen-epochs", type=int, default=epochs)
    g.add_argument("--gen-lr", type=float, default=lr)
    g.add_argument("--gen-batch-size", type=int, default=32)
    g.add_argument("--draws", type=int, default=2, help="masks drawn per text per epoch (default 2)")
    g.add_argument("--label-dropout", type=float, default=0.1)
    g.add_argument("--max-length", type=int, default=128, help="tokens per prompt, specials included")
    g.add_argument("--total-steps", type=int, default=32, help="diffusion steps T (default 32)")
    g.add_argument("--lam", type=float, default=0.5, help="lambda of the label-aware schedule (default 0.5)")


def _decoding_args(p: argparse.ArgumentParser, title: str) -> None:
    g = p.add_argument_group(title)
    g.add_argument(
        "--steps", default=None, help="corruption steps: 13-16, 14 or group:4 (default 13-16 of T=32)"
    )
    g.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="decoding rounds K (default: the checkpoint's, 8 for new fits; 1 = one-shot)",
    )
    g.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: the checkpoint's, 0.7 for new fits; 0 = greedy)",
    )
    g.add_argument("--top-k", type=int, default=None, help="keep the k best tokens (default 0 = off)")
    g.add_argument(
        "--top-p",
        type=float,
        default=None,
        help="nucleus sampling mass (default: the checkpoint's, 0.9 for new fits; 1 = off)",
    )
    g.add_argument(
        "--guidance", type=float, default=None, help="classifier-free guidance scale (default 1 = off)"
    )


def build_parser() -> argparse.ArgumentParser:
    from training import __version__

    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

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
    _add_common(p)

    p = sub.add_parser(
        "fit", help="labelled CSV/JSONL -> proxy -> generator -> classifier -> checkpoint folder"
    )
    p.add_argument("--train", required=True, help="labelled .csv/.tsv/.jsonl with text and label")
    p.add_argument("--base", required=True, help="base MLM: HF model id or folder")
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--val-fraction", type=float, default=0.1, help="validation share carved from --train")
    p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint folder")
    p.add_argument(
        "--budget",
        choices=["auto", "quick", "full"],
        default="auto",
        help="epochs and pseudo samples left unset: quick (under 1,000 texts: fewer classifier epochs, 2 pseudo "
        "samples per text generated once), full (the paper's schedule), auto = by the data size (default)",
    )
    g = p.add_argument_group("proxy classifier")
    g.add_argument("--proxy-epochs", type=int, default=None, help="default: by --budget (8 full, 6 quick)")
    g.add_argument("--proxy-lr", type=float, default=1e-4)
    g.add_argument("--proxy-batch-size", type=int, default=32)
    g.add_argument("--proxy-patience", type=int, default=2)
    _generator_args(p, epochs=2, lr=1e-4)
    g = p.add_argument_group("task classifier")
    g.add_argument("--no-classifier", action="store_true", help="stop after the generator")
    g.add_argument("--clf-epochs", type=int, default=None, help="default: by --budget (5 full, 3 quick)")
    g.add_argument("--clf-lr", type=float, default=1e-4)
    g.add_argument(
        "--clf-batch-size", type=int, default=16, help="originals per batch (their pseudo samples join)"
    )
    g.add_argument("--clf-patience", type=int, default=2)
    g.add_argument(
        "--policy", choices=["ge", "bd"], default="ge", help="pseudo samples: n each (ge) or balance (bd)"
    )
    g.add_argument(
        "--n",
        type=int,
        default=None,
        help="pseudo samples per original under ge (default: by --budget, 4 full, 2 quick)",
    )
    g.add_argument(
        "--regenerate-every",
        type=int,
        default=None,
        help="epochs between regenerations, 0 = once (default: by --budget, 1 full, 0 quick)",
    )
    g.add_argument("--no-reflective", action="store_true", help="mask with the proxy's importance throughout")
    g.add_argument(
        "--min-label-prob",
        type=float,
        default=0.0,
        help="drop pseudo samples the judge gives the intended label less than this (beyond the paper; 0 = keep all)",
    )
    g.add_argument("--contrastive-weight", type=float, default=1.0, help="weight of Lc (paper eq. 4)")
    g.add_argument("--tau", type=float, default=0.1, help="temperature of Lc (default 0.1)")
    g = p.add_argument_group("ablations (paper Table 4)")
    g.add_argument("--no-augmentation", action="store_true", help="w/o D.A.: no pseudo samples")
    g.add_argument("--no-label-prompt", action="store_true", help="w/o L.A.P.: generator never sees labels")
    g.add_argument("--no-noise-resistance", action="store_true", help="w/o N.R.T.: cross-entropy only")
    _decoding_args(p, "decoding of pseudo samples (also stored as the checkpoint's defaults)")
    _add_common(p)

    from training.augmenters.registry import METHODS

    p = sub.add_parser(
        "augment",
        help="labelled CSV -> CSV of new labelled texts (diffusioncls needs a checkpoint)",
        description="Methods: " + "; ".join(f"{k}: {v}" for k, v in METHODS.items()),
    )
    p.add_argument("--input", required=True, help="labelled .csv/.tsv/.jsonl (text, label)")
    p.add_argument("--out", required=True, help="output .csv or .jsonl")
    p.add_argument(
        "--method",
        choices=list(METHODS),
        default="diffusioncls",
        help="augmentation method (default diffusioncls)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the method (repeatable), e.g. --param alpha=0.2; see training.augmenters.registry",
    )
    p.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint folder: required by diffusioncls; with another method, its classifier scores the outputs",
    )
    p.add_argument("--base", default=None, help="masked-LM folder or HF id for mlm_substitution")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument(
        "--policy", choices=["ge", "bd"], default="ge", help="ge: --n per text; bd: balance the classes"
    )
    p.add_argument("--n", type=int, default=4, help="new texts per input under the ge policy (default 4)")
    g = p.add_argument_group("method settings (shortcuts for --param; each applies where the method has it)")
    g.add_argument(
        "--steps",
        default=None,
        help="diffusioncls corruption steps: 13-16, 14 or group:4 (default: checkpoint's)",
    )
    g.add_argument(
        "--rounds", type=int, default=None, help="decoding rounds K (default: checkpoint's; 8 for new fits)"
    )
    g.add_argument("--temperature", type=float, default=None)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (1 = off)")
    g.add_argument("--batch-size", type=int, default=None, help="texts per forward pass (default 64)")
    g.add_argument("--max-attempts", type=int, default=None, help="passes before a shortfall (default 4)")
    g.add_argument(
        "--min-label-prob",
        type=float,
        default=None,
        help="diffusioncls: keep outputs the classifier gives their label at least this probability, topping up "
        "with fresh rewrites; the best of the rest, flagged, fill what is still missing (default 0 = off)",
    )
    p.add_argument("--no-score", action="store_true", help="skip the classifier's probability of each label")
    p.add_argument("--limit", type=int, default=None, help="augment only the first N inputs")
    _add_common(p)

    p = sub.add_parser(
        "bench",
        help="benchmarks: quality (methods over seeds), speed (sampler vs forward limit), report (docs page)",
    )
    bench = p.add_subparsers(dest="bench", required=True)
    q = bench.add_parser(
        "quality", help="train the same classifier per method and seed; score on the test split"
    )
    q.add_argument("--data", required=True, help="dataset folder with train.csv and the test split")
    q.add_argument(
        "--base", required=True, help="base MLM (HF id or folder) for proxy, generator and classifier"
    )
    q.add_argument(
        "--setting",
        default="full",
        help="full, fraction:<share>, kshot:<k>, imbalance:<ratio>, or steps joined by +",
    )
    q.add_argument(
        "--test-split", default="test", help="evaluation file in --data without .csv (default test)"
    )
    q.add_argument("--methods", default="none,diffusioncls", help="comma-separated; 'list' prints them")
    q.add_argument("--seeds", default="0,1,2")
    q.add_argument("--n", type=int, default=4, help="pseudo samples per original (G/E)")
    q.add_argument("--regenerate-every", type=int, default=1)
    q.add_argument("--proxy-epochs", type=int, default=6)
    q.add_argument("--gen-epochs", type=int, default=2)
    q.add_argument("--clf-epochs", type=int, default=4)
    q.add_argument("--clf-batch-size", type=int, default=16)
    q.add_argument(
        "--patience",
        type=int,
        default=2,
        help="early stopping of proxy and classifier on validation macro-F1; 0 = train every epoch and keep "
        "the last weights (k-shot settings, whose validation split is a handful of texts)",
    )
    q.add_argument("--lr", type=float, default=1e-4, help="learning rate of proxy, generator and classifier")
    q.add_argument("--max-length", type=int, default=96)
    q.add_argument("--max-test", type=int, default=None, help="score on the first N test rows only")
    q.add_argument(
        "--judge-texts",
        type=int,
        default=1000,
        help="held-out judge of 'label kept': fitted on at most N train rows the run does not use "
        "(none under --setting full); 0 = no judge (default 1000)",
    )
    q.add_argument("--out", required=True, help="result JSON (a Markdown table is written beside it)")
    q.add_argument(
        "--resume",
        action="store_true",
        help="keep the (seed, method) runs already in --out (saved after each one) and run the rest; "
        "refused when --out was written with other settings",
    )
    q.add_argument(
        "--cache",
        default="auto",
        help="folder of trained proxies, generators, judges and `none` classifiers, reused by later runs "
        "with the same data, seed, base and settings (about 90 MB each for MiniLM-L6); "
        "auto = a 'cache' folder beside --out, none = off (default auto)",
    )
    q.add_argument("--device", default="auto")
    q.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="auto",
        help="fp32, bf16 (mixed precision) or auto: bf16 where the hardware computes it natively (default)",
    )
    q.add_argument("--quiet", action="store_true")
    _decoding_args(q, "decoding of DiffusionCLS pseudo samples")
    sp = bench.add_parser(
        "speed", help="sampler vs forward-pass limit, a naive decoder and nlpaug, in one run"
    )
    src = sp.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a fitted checkpoint (its generator and classifier or proxy)")
    src.add_argument("--base", help="a base MLM folder: speed only, with untrained label rows and proxy")
    sp.add_argument("--texts", required=True, help="file of real texts (.csv/.jsonl text column or .txt)")
    sp.add_argument("--seq-len", type=int, default=64)
    sp.add_argument("--batch-sizes", default="1,8,32,128")
    sp.add_argument("--rounds", default="1,4,8")
    sp.add_argument("--min-seconds", type=float, default=3.0, help="least time per measurement")
    sp.add_argument("--naive-samples", type=int, default=3)
    sp.add_argument("--nlpaug-python", default=None, help="interpreter with nlpaug (default: this one)")
    sp.add_argument("--nlpaug-model", default=None, help="MLM folder for nlpaug (default: --base)")
    sp.add_argument("--nlpaug-samples", type=int, default=64)
    sp.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    sp.add_argument("--device", default="auto")
    sp.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="auto",
        help="fp32, bf16 (mixed precision) or auto: bf16 where the hardware computes it natively (default)",
    )
    sp.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")

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
        help="name:steps=13-16,rounds=4,temperature=1,top_p=1,top_k=0,guidance=1,min_label_prob=0 (repeatable)",
    )
    d.add_argument("--seed", type=int, default=0, help="seed of the rewrites (default 0)")
    d.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    d.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")
    f = bench.add_parser("fluency-lm", help="build the word trigram Kneser-Ney fluency model from plain text")
    f.add_argument(
        "--texts", required=True, nargs="+", help=".txt/.txt.gz/.csv/.jsonl files (split into sentences)"
    )
    f.add_argument("--min-count", type=int, default=2, help="rarer words are <unk> (default 2)")
    f.add_argument("--out", required=True, help="model file (.npz)")

    r = bench.add_parser("report", help="Markdown page (and step-group plot) from result JSON files")
    r.add_argument("results", nargs="+", help="result JSON files written by bench quality")
    r.add_argument("--out", default="docs/RESULTS.md")
    r.add_argument("--intro", default="", help="a file whose text goes under the title")

    p = sub.add_parser("classify", help="checkpoint + texts -> predicted labels with probabilities")
    p.add_argument("--checkpoint", required=True)
    p.add_argument(
        "--input", required=True, help=".csv/.tsv/.jsonl with a text column, or .txt (one per line)"
    )
    p.add_argument("--out", required=True, help="output .csv or .jsonl")
    p.add_argument("--text-column", default="text")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="auto",
        help="fp32, bf16 (mixed precision) or auto: bf16 where the hardware computes it natively (default)",
    )

    p = sub.add_parser("evaluate", help="checkpoint + labelled CSV -> accuracy, macro-F1, report, confusion")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True, help="labelled .csv/.tsv/.jsonl (text, label)")
    p.add_argument("--out", default=None, help="write the report as JSON here")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="auto",
        help="fp32, bf16 (mixed precision) or auto: bf16 where the hardware computes it natively (default)",
    )
    return parser


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


def _sampler_defaults(args, total_steps: int, defaults=None):
    """Decoding flags over `defaults` (the checkpoint's, or the built-in ones)."""
    from training.checkpoint import SamplerDefaults
    from training.schedule import parse_step_range

    defaults = defaults or SamplerDefaults()
    return SamplerDefaults(
        steps=parse_step_range(args.steps, total_steps) if args.steps else defaults.steps,
        rounds=args.rounds if args.rounds is not None else defaults.rounds,
        temperature=args.temperature if args.temperature is not None else defaults.temperature,
        top_k=args.top_k if args.top_k is not None else defaults.top_k,
        top_p=args.top_p if args.top_p is not None else defaults.top_p,
        guidance_scale=args.guidance if args.guidance is not None else defaults.guidance_scale,
    )


def _diffusion_options(sampler, **kwargs):
    from training.augmenters.diffusion import DiffusionOptions

    return DiffusionOptions.from_settings(sampler, **kwargs)


QUICK_BELOW = 1_000  # texts: below this, `--budget auto` is quick


def fit_budget(budget: str, texts: int) -> dict[str, int]:
    """Epochs and pseudo samples for the flags a user left unset. A few hundred texts neither need
    nor reward the full schedule: the classifier's pseudo-sample regeneration dominates the time."""
    quick = budget == "quick" or (budget == "auto" and texts < QUICK_BELOW)
    if quick:
        return {"proxy_epochs": 6, "clf_epochs": 3, "n": 2, "regenerate_every": 0}
    return {"proxy_epochs": 8, "clf_epochs": 5, "n": 4, "regenerate_every": 1}


# Seconds per text on 2 CPU cores (MiniLM-L6, texts of ~25 words), measured on the sample fit:
# one classifier or proxy epoch, one generator draw, one decoding round of one pseudo sample.
_SECONDS_PER_TEXT = {"epoch": 0.03, "draw": 0.04, "decode_round": 0.006}


def fit_minutes(texts: int, args, rounds: int) -> float:
    c = _SECONDS_PER_TEXT
    train = 0.9 * texts
    seconds = args.proxy_epochs * train * c["epoch"] + args.gen_epochs * args.draws * train * c["draw"]
    if not args.no_classifier:
        pseudo = 0 if args.no_augmentation else args.n * train
        regenerations = (
            1 if args.regenerate_every == 0 else math.ceil(args.clf_epochs / args.regenerate_every)
        )
        seconds += (
            args.clf_epochs * (train + pseudo) * c["epoch"]
            + regenerations * pseudo * rounds * c["decode_round"]
        )
    return seconds / 60


def _cmd_fit(args) -> int:
    from training.classifier import ClassifierConfig, NoiseResistance
    from training.data import read_labelled
    from training.generator import GeneratorConfig, ScheduleConfig
    from training.pipeline import PseudoPlan, fit

    data = read_labelled(args.train, args.text_column, args.label_column)
    print(f"{len(data)} texts, {len(data.label_names)} labels: {data.counts()}")
    budget = fit_budget(args.budget, len(data))
    for name, value in budget.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    sampler = _sampler_defaults(args, args.total_steps)
    print(
        f"budget {args.budget}: proxy {args.proxy_epochs} epochs, generator {args.gen_epochs}, classifier "
        f"{'none' if args.no_classifier else args.clf_epochs} with {args.n} pseudo samples per text "
        f"{'generated once' if args.regenerate_every == 0 else f'regenerated every {args.regenerate_every} epoch(s)'}"
    )
    print(f"estimate: {fit_minutes(len(data), args, sampler.rounds):.0f} min on 2 CPU cores (less on a GPU)")
    report = fit(
        data,
        args.base,
        args.out,
        proxy_config=ClassifierConfig(
            lr=args.proxy_lr,
            epochs=args.proxy_epochs,
            batch_size=args.proxy_batch_size,
            patience=args.proxy_patience,
            max_length=args.max_length,
            precision=args.precision,
        ),
        generator_config=GeneratorConfig(
            lr=args.gen_lr,
            epochs=args.gen_epochs,
            draws_per_example=args.draws,
            batch_size=args.gen_batch_size,
            label_dropout=args.label_dropout,
            max_length=args.max_length,
            precision=args.precision,
        ),
        classifier_config=None
        if args.no_classifier
        else ClassifierConfig(
            lr=args.clf_lr,
            epochs=args.clf_epochs,
            batch_size=args.clf_batch_size,
            patience=args.clf_patience,
            max_length=args.max_length,
            precision=args.precision,
        ),
        noise=NoiseResistance(
            weight=0.0 if args.no_noise_resistance else args.contrastive_weight, temperature=args.tau
        ),
        plan=PseudoPlan(
            enabled=not args.no_augmentation,
            policy=args.policy,
            n=args.n,
            regenerate_every=args.regenerate_every,
            reflective=not args.no_reflective,
            min_label_prob=args.min_label_prob,
            options=_diffusion_options(sampler, score=False),
        ),
        label_prompt=not args.no_label_prompt,
        schedule=ScheduleConfig(args.total_steps, args.lam),
        sampler=sampler,
        val_fraction=args.val_fraction,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    print(
        f"proxy: best epoch {report['proxy']['best_epoch']}, validation macro-F1 {report['proxy']['best_val_macro_f1']:.4f}"
    )
    last = report["generator"]["history"][-1]
    print("generator: " + ", ".join(f"{k}={v:.4f}" for k, v in last.items() if k != "epoch"))
    if report["classifier"]:
        clf = report["classifier"]
        print(
            f"classifier: best epoch {clf['best_epoch']}, validation macro-F1 {clf['best_val_macro_f1']:.4f}"
        )
    print("seconds: " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()))
    print(f"wrote {report['checkpoint']}")
    return 0


OUTPUT_COLUMNS = [
    "text",
    "label",
    "method",
    "source_index",
    "source_text",
    "seed",
    "chain",
    "try",
    "step",
    "rounds",
    "mask_ratio",
    "changed_ratio",
    "masked_positions",
    "label_prob",
    "predicted_label",
    "details",
]
# Method settings that have a flag of their own (the flag's name is the registry parameter's).
_PARAM_FLAGS = (
    "steps",
    "rounds",
    "temperature",
    "top_k",
    "top_p",
    "guidance",
    "batch_size",
    "max_attempts",
    "min_label_prob",
)


def method_params(args) -> dict[str, str | int | float | bool]:
    """--param KEY=VALUE pairs plus the shortcut flags; a flag the method does not take is an error."""
    from training.augmenters.registry import PARAMS

    params: dict[str, str | int | float | bool] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param wants KEY=VALUE, got {item!r}")
        params[key.strip()] = value.strip()
    for key in _PARAM_FLAGS:
        value = getattr(args, key)
        if value is None:
            continue
        if key not in PARAMS[args.method]:
            flag = "--" + key.replace("_", "-")
            raise ValueError(f"{flag} does not apply to method {args.method!r}")
        if key in params:
            raise ValueError(f"{key} is given twice (--param and a flag)")
        params[key] = value
    if args.no_score and args.method == "diffusioncls":
        params["score"] = False
    return params


def _cmd_augment(args) -> int:
    from tqdm.auto import tqdm

    from training.augmenters.registry import Resources, build_augmenter, parse_params
    from training.common import resolve_device
    from training.data import read_labelled
    from training.policies import augment_balanced, each_counts

    params = method_params(args)
    parse_params(args.method, params)  # bad parameters fail before anything is loaded
    if args.method == "diffusioncls" and not args.checkpoint:
        raise ValueError("method diffusioncls needs --checkpoint")
    if args.base and args.method != "mlm_substitution":
        raise ValueError("--base applies to method mlm_substitution only")
    if args.method == "mlm_substitution" and not args.base:
        raise ValueError("method mlm_substitution needs --base (a masked-LM folder or HF id)")
    data = read_labelled(args.input, args.text_column, args.label_column, min_classes=1)
    if args.limit:
        data = data.subset(range(min(args.limit, len(data))))
    t0 = time.perf_counter()
    device = resolve_device(args.device)
    resources = Resources(mlm_base=args.base, device=str(device))
    scorer = None
    if args.checkpoint:
        from training.augmenters.diffusion import DiffusionAugmenter
        from training.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(args.checkpoint, device)
        diffusion = DiffusionAugmenter.from_checkpoint(checkpoint, args.precision)
        if args.method == "diffusioncls":
            diffusion.check_labels(data.labels)
            resources.diffusion = diffusion
            resources.diffusion_options = _diffusion_options(checkpoint.settings.sampler)
        elif not args.no_score:
            scorer = diffusion.scorer
    method = build_augmenter(args.method, params, resources)
    load_seconds = time.perf_counter() - t0
    bar = tqdm(total=0, desc=f"augment ({args.method})", unit="text", disable=args.quiet)

    def progress(done: int, requested: int) -> None:
        bar.total = requested
        bar.n = done
        bar.refresh()

    t0 = time.perf_counter()
    if args.policy == "bd":
        result = augment_balanced(method, data.texts, data.labels, args.seed, progress=progress)
    else:
        result = method.augment(data.texts, data.labels, each_counts(len(data), args.n), args.seed, progress)
    bar.close()
    if scorer is not None and result.augmentations:
        from training.augmenters.diffusion import score_augmentations

        score_augmentations(scorer, result.augmentations)
    seconds = time.perf_counter() - t0
    _write_augmentations(Path(args.out), data, result.augmentations)
    summary = {"method": args.method, **summarise(result, seconds, load_seconds)}
    print(json.dumps(summary, indent=2))
    for s in result.shortfalls[:10]:
        where = f"input {s.source_index}" if s.source_index >= 0 else "class"
        print(f"shortfall ({where}): {s.reason}", file=sys.stderr)
    print(f"wrote {len(result.augmentations)} texts to {args.out}")
    return 0


def _mean(values: list) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarise(result, seconds: float, load_seconds: float) -> dict:
    aug = result.augmentations
    scored = [a for a in aug if "predicted_label" in a.provenance]

    def mean(key, items):
        return round(sum(a.provenance[key] for a in items) / len(items), 4) if items else None

    return {
        "requested": result.stats["requested"],
        "produced": len(aug),
        "shortfalls": len(result.shortfalls),
        "label_agreement": _mean([float(a.provenance["predicted_label"] == a.label) for a in scored]),
        "mean_label_prob": _mean([a.provenance["label_prob"] for a in scored]),
        "mean_changed_ratio": _mean(
            [a.provenance["changed_ratio"] for a in aug if "changed_ratio" in a.provenance]
        ),
        "mean_mask_ratio": _mean([a.provenance["mask_ratio"] for a in aug if "mask_ratio" in a.provenance]),
        "chains_decoded": result.stats.get("chains_decoded"),
        "tries": result.stats.get("tries"),
        "seconds": round(seconds, 1),
        "load_seconds": round(load_seconds, 1),
        "texts_per_second": round(len(aug) / seconds, 2) if seconds > 0 else None,
    }


def _write_rows(path: Path, columns: list[str], rows: list[dict]) -> None:
    """CSV (or JSONL for .jsonl/.json), written to a temporary name and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        if path.suffix.lower() in (".jsonl", ".json"):
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                        for k, v in row.items()
                    }
                )
    tmp.replace(path)


def _write_augmentations(path: Path, data, augmentations) -> None:
    rows = []
    for a in augmentations:
        row = {
            "text": a.text,
            "label": a.label,
            "source_index": a.source_index,
            "source_text": data.texts[a.source_index],
        }
        row.update({k: v for k, v in a.provenance.items() if k in OUTPUT_COLUMNS})
        details = {k: v for k, v in a.provenance.items() if k not in OUTPUT_COLUMNS}
        if details:
            row["details"] = details
        rows.append(row)
    _write_rows(path, OUTPUT_COLUMNS, rows)


def _load_judge(folder: str, device: str, precision: str = "auto"):
    """The task classifier of a checkpoint, or its proxy when it has none; and which one it is."""
    from training.checkpoint import load_checkpoint
    from training.classifier import ClassifierRunner
    from training.common import resolve_device
    from training.text import TextCodec

    checkpoint = load_checkpoint(folder, resolve_device(device), components=("proxy", "classifier"))
    name = "classifier" if checkpoint.classifier is not None else "proxy"
    model = checkpoint.classifier if checkpoint.classifier is not None else checkpoint.proxy
    if model is None:
        raise ValueError(f"{folder} has neither a classifier nor a proxy")
    codec = TextCodec(checkpoint.tokenizer)
    return ClassifierRunner(model, codec, checkpoint.settings.max_length, precision=precision), name


def _cmd_classify(args) -> int:
    from training.data import read_texts

    texts = read_texts(args.input, args.text_column)
    runner, name = _load_judge(args.checkpoint, args.device, args.precision)
    t0 = time.perf_counter()
    probs = runner.predict_proba(texts)
    seconds = time.perf_counter() - t0
    names = runner.label_names
    rows = [
        {
            "text": t,
            "label": names[int(p.argmax())],
            **{f"prob_{n}": round(float(v), 6) for n, v in zip(names, p, strict=True)},
        }
        for t, p in zip(texts, probs, strict=True)
    ]
    _write_rows(Path(args.out), ["text", "label", *(f"prob_{n}" for n in names)], rows)
    print(f"classified {len(texts)} texts with the {name} in {seconds:.1f}s; wrote {args.out}")
    return 0


def _cmd_evaluate(args) -> int:
    from training.data import read_labelled
    from training.metrics import classification_report

    data = read_labelled(args.input, args.text_column, args.label_column, min_classes=1)
    runner, name = _load_judge(args.checkpoint, args.device, args.precision)
    names = runner.label_names
    unknown = sorted(set(data.labels) - set(names))
    if unknown:
        raise ValueError(
            f"{args.input} has label(s) {unknown} the checkpoint does not know; it knows {names}"
        )
    probs = runner.predict_proba(data.texts)
    index = {n: i for i, n in enumerate(names)}
    report = classification_report([index[y] for y in data.labels], probs.argmax(-1).tolist(), names)
    report.update({"model": name, "checkpoint": str(args.checkpoint), "data": str(args.input)})
    print(format_report(report))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        from training.model_card import confusion_svg

        picture = Path(args.out).with_suffix(".confusion.svg")
        confusion = report["confusion_matrix"]
        title = f"{report['model']} on {Path(args.input).name}: macro-F1 {report['macro_f1']:.3f}"
        picture.write_text(confusion_svg(confusion["labels"], confusion["matrix"], title), encoding="utf-8")
        print(f"wrote {args.out} and {picture}")
    return 0


def format_report(report: dict) -> str:
    names = report["confusion_matrix"]["labels"]
    width = max(8, *(len(n) for n in names))
    lines = [
        f"{report['model']} on {report['n']} texts: accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}",
        "",
        f"{'label':<{width}}  precision  recall      f1  support",
    ]
    for n in names:
        row = report["per_class"][n]
        lines.append(
            f"{n:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:6.4f}  {row['support']:7d}"
        )
    lines += [
        "",
        "confusion (rows: gold, columns: predicted)",
        " " * width + "  " + "  ".join(f"{n[:8]:>8}" for n in names),
    ]
    for n, row in zip(names, report["confusion_matrix"]["matrix"], strict=True):
        lines.append(f"{n:<{width}}  " + "  ".join(f"{v:8d}" for v in row))
    return "\n".join(lines)


def _cmd_bench(args) -> int:
    import shlex

    from training.bench.quality import (
        METHODS,
        BenchConfig,
        format_table,
        resumable_runs,
        run_quality_bench,
        write_result,
    )
    from training.classifier import ClassifierConfig
    from training.generator import GeneratorConfig

    if args.bench == "speed":
        return _bench_speed(args)
    if args.bench == "mlm":
        from training.bench.mlm import format_mlm_table, run_mlm_bench

        result = run_mlm_bench(
            args.bases,
            args.heldout,
            rates=[float(r) for r in args.rates.split(",")],
            windows=args.windows,
            pppl_windows=args.pppl_windows,
            max_length=args.max_length,
            device=args.device,
        )
        return _save_bench(args, result, format_mlm_table)
    if args.bench == "fluency-lm":
        return _bench_fluency_lm(args)
    if args.bench == "decoding":
        return _bench_decoding(args)
    if args.bench == "report":
        from training.bench.report import load_results, render

        intro = Path(args.intro).read_text(encoding="utf-8") if args.intro else ""
        print(f"wrote {render(load_results(args.results), args.out, intro)}")
        return 0
    if args.methods == "list":
        for name, spec in METHODS.items():
            print(f"{name:<22} {spec.description}")
        return 0
    sampler = _sampler_defaults(args, 32)
    config = BenchConfig(
        data_dir=args.data,
        base=args.base,
        setting=args.setting,
        test_split=args.test_split,
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
        seeds=tuple(int(s) for s in args.seeds.split(",")),
        n=args.n,
        regenerate_every=args.regenerate_every,
        proxy=ClassifierConfig(
            lr=args.lr,
            epochs=args.proxy_epochs,
            patience=args.patience,
            max_length=args.max_length,
            precision=args.precision,
        ),
        generator=GeneratorConfig(
            lr=args.lr, epochs=args.gen_epochs, max_length=args.max_length, precision=args.precision
        ),
        classifier=ClassifierConfig(
            lr=args.lr,
            epochs=args.clf_epochs,
            batch_size=args.clf_batch_size,
            patience=args.patience,
            max_length=args.max_length,
            precision=args.precision,
        ),
        decode=_diffusion_options(sampler, score=False),
        max_test=args.max_test,
        judge_texts=args.judge_texts,
        device=args.device,
    )
    command = "python -m training " + shlex.join(args.argv)

    done: list[dict] = []
    if args.resume and Path(args.out).is_file():
        done = resumable_runs(json.loads(Path(args.out).read_text()), config)
    cache = None if args.cache == "none" else args.cache
    if cache == "auto":
        cache = Path(args.out).parent / "cache"

    def save_partial(partial: dict) -> None:
        write_result({**partial, "command": command}, args.out)
        pairs = len(config.seeds) * len(config.methods)
        print(f"wrote {args.out} ({len(partial['runs'])} of {pairs} runs; resume with --resume)")

    result = run_quality_bench(
        config, progress=not args.quiet, on_record=save_partial, done=done, cache_dir=cache
    )
    result["command"] = command
    table = format_table(result["summary"])
    header = (
        f"{Path(args.data).name}, setting {args.setting}, seeds {args.seeds}, base {args.base}, "
        f"evaluated on {args.test_split}.csv ({result['seconds'] / 60:.1f} min)"
    )
    print(header)
    print(table)
    write_result(result, args.out)
    Path(args.out).with_suffix(".md").write_text(f"{header}\n\n{table}\n")
    print(f"wrote {args.out}")
    return 0


def _bench_fluency_lm(args) -> int:
    from training.fluency import NgramLM
    from training.pretrain import Source, iter_documents, parse_source, split_sentences

    started = time.perf_counter()
    sentences: list[str] = []
    for spec in args.texts:
        source: Source = parse_source(spec)
        for doc in iter_documents(source):
            sentences.extend(split_sentences(doc))
    lm = NgramLM.train(sentences, min_count=args.min_count)
    lm.save(args.out)
    print(
        f"{len(sentences):,} sentences, {lm.size:,} words, {len(lm.tri_keys):,} trigrams "
        f"in {time.perf_counter() - started:.0f}s -> {args.out}"
    )
    return 0


def _bench_decoding(args) -> int:

    from training.augmenters.diffusion import DiffusionAugmenter
    from training.bench.decoding import format_decoding_table, parse_setting, run_decoding_study
    from training.checkpoint import load_checkpoint
    from training.classifier import ClassifierRunner
    from training.common import resolve_device
    from training.data import read_labelled
    from training.fluency import NgramLM
    from training.text import TextCodec

    checkpoint = load_checkpoint(args.checkpoint, resolve_device(args.device))
    augmenter = DiffusionAugmenter.from_checkpoint(checkpoint)
    data = read_labelled(args.texts)
    # Round-robin over the labels so a short head still covers every class.
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(i)
    order = [i for group in zip(*by_label.values(), strict=False) for i in group][: args.limit]
    texts, labels = [data.texts[i] for i in order], [data.labels[i] for i in order]
    judge = None
    if args.judge:
        from training.bench.judge import load_or_fit_judge

        model, codec_tokenizer = load_or_fit_judge(
            args.judge, checkpoint.settings.base_model, args.judge_out, args.device
        )
        judge = ClassifierRunner(model, TextCodec(codec_tokenizer), max_length=checkpoint.settings.max_length)
    result = run_decoding_study(
        augmenter,
        texts,
        labels,
        [parse_setting(spec) for spec in args.setting],
        NgramLM.load(args.lm),
        judge,
        n=args.n,
        seed=args.seed,
    )
    return _save_bench(args, result, format_decoding_table)


def _save_bench(args, result: dict, format_table) -> int:
    """Record the exact command, write the result JSON (atomically) and its table beside it as .md."""
    import shlex

    from training.bench.quality import write_result

    result["command"] = "python -m training " + shlex.join(args.argv)
    write_result(result, args.out)
    table = format_table(result)
    Path(args.out).with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


def _bench_speed(args) -> int:
    import shlex

    import torch

    from training.augmenters.diffusion import DiffusionAugmenter
    from training.bench.speed import SpeedConfig, format_speed_table, run_speed_bench, untrained_augmenter
    from training.checkpoint import load_checkpoint
    from training.common import resolve_device
    from training.data import read_texts

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if args.checkpoint:
        augmenter = DiffusionAugmenter.from_checkpoint(
            load_checkpoint(args.checkpoint, device), args.precision
        )
        model_folder = args.nlpaug_model
    else:
        augmenter = untrained_augmenter(args.base, device, args.precision)
        model_folder = args.nlpaug_model or args.base
    config = SpeedConfig(
        seq_len=args.seq_len,
        batch_sizes=tuple(int(b) for b in args.batch_sizes.split(",")),
        rounds=tuple(int(k) for k in args.rounds.split(",")),
        min_seconds=args.min_seconds,
        naive_samples=args.naive_samples,
        nlpaug_python=args.nlpaug_python,
        nlpaug_samples=args.nlpaug_samples,
        nlpaug_model=model_folder,
    )
    result = run_speed_bench(augmenter, read_texts(args.texts), config)
    result["command"] = "python -m training " + shlex.join(args.argv)
    table = format_speed_table(result)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(f"```bash\n{result['command']}\n```\n\n{table}\n")
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from training.common import quiet_transformers

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv  # recorded with benchmark results: the exact command that made them
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    quiet_transformers()
    handlers = {
        "pretrain": _cmd_pretrain,
        "fit": _cmd_fit,
        "augment": _cmd_augment,
        "classify": _cmd_classify,
        "evaluate": _cmd_evaluate,
        "bench": _cmd_bench,
    }
    try:
        return handlers[args.command](args)
    except (DataError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

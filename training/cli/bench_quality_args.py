"""The flags of `bench quality` (and the `BenchConfig` they make) and of `bench report`, the page made
from its results. `training.cli.bench` adds these parsers and sets their handlers."""

from __future__ import annotations

import argparse

from training.cli.fit import BUDGETS
from training.cli.options import (
    FIT_MAX_LENGTH,
    add_device,
    decoding_args,
    diffusion_options,
    fill_unset,
    sampler_defaults,
)
from training.defaults import PSEUDO_PER_ORIGINAL, TOTAL_STEPS

# The budget of every run in docs/RESULTS.md (`--budget bench`): the flags' values when left unset.
BENCH_BUDGET: dict[str, int | float] = {
    "proxy_epochs": 6,
    "gen_epochs": 2,
    "clf_epochs": 4,
    "clf_batch_size": 16,
    "patience": 2,
    "n": PSEUDO_PER_ORIGINAL,
    "regenerate_every": 1,
}
BENCH_MAX_LENGTH = 96


def add_quality(bench) -> argparse.ArgumentParser:
    q = bench.add_parser(
        "quality", help="train the same classifier per method and seed; score on the test split"
    )
    q.add_argument("--data", help="dataset folder with train.csv and the test split (required)")
    q.add_argument("--base", help="base MLM (HF id or folder) for proxy, generator and classifier (required)")
    q.add_argument(
        "--setting",
        default="full",
        help="full, fraction:<share>, kshot:<k>, imbalance:<ratio>, or steps joined by +",
    )
    q.add_argument(
        "--test-split",
        default="test",
        help="evaluation file in --data without .csv (default test), or holdout:<share> to score on that "
        "stratified share of train.csv, never trained on (for your own data without a test file)",
    )
    q.add_argument("--methods", default="none,diffusioncls", help="comma-separated; 'list' prints them")
    q.add_argument(
        "--seeds", default="0,1,2,3,4", help="comma-separated seeds; fewer than 5 rarely give a verdict"
    )
    q.add_argument(
        "--budget",
        choices=["bench", "auto", *BUDGETS],
        default="bench",
        help="epochs, batch, early stopping and pseudo samples left unset: bench (proxy 6 and classifier 4 "
        "epochs, 4 pseudo samples per original regenerated every epoch: most runs of docs/RESULTS.md, whose 10-shot "
        "runs are --budget tiny --max-length 64; default), "
        "or what `fit --budget` gives the same data, to measure the classifier fit would train: auto (by the "
        "number of training texts: tiny under 100, quick from 100), tiny, quick, full",
    )
    q.add_argument(
        "--n", type=int, default=None, help="pseudo samples per original (G/E); default: by --budget"
    )
    q.add_argument(
        "--regenerate-every",
        type=int,
        default=None,
        help="epochs between fresh pseudo samples, 0 = once; default: by --budget",
    )
    q.add_argument(
        "--proxy-epochs", type=int, default=None, help="proxy classifier epochs; default: by --budget"
    )
    q.add_argument("--gen-epochs", type=int, default=None, help="generator epochs; default: by --budget")
    q.add_argument(
        "--clf-epochs", type=int, default=None, help="task classifier epochs; default: by --budget"
    )
    q.add_argument(
        "--clf-batch-size",
        type=int,
        default=None,
        help="originals per batch (their pseudo samples join); default: by --budget",
    )
    q.add_argument(
        "--patience",
        type=int,
        default=None,
        help="early stopping of proxy and classifier on validation macro-F1; 0 = train every epoch and keep "
        "the last weights (k-shot settings, whose validation split is a handful of texts); default: by --budget",
    )
    q.add_argument("--lr", type=float, default=1e-4, help="learning rate of proxy, generator and classifier")
    q.add_argument(
        "--max-length",
        type=int,
        default=None,
        help=f"tokens per text, specials included (default: by --budget, {BENCH_MAX_LENGTH} under bench, "
        f"{FIT_MAX_LENGTH} as fit otherwise)",
    )
    q.add_argument("--max-test", type=int, default=None, help="score on the first N test rows only")
    q.add_argument(
        "--judge-texts",
        type=int,
        default=1000,
        help="held-out judge of 'label kept': fitted on at most N train rows the run does not use "
        "(none under --setting full); 0 = no judge (default 1000)",
    )
    _quality_output_args(q)
    add_device(q)
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    decoding_args(q, "decoding of DiffusionCLS pseudo samples")
    return q


def _quality_output_args(q) -> None:
    """Where `bench quality` writes, resumes from and caches its trained stages."""
    q.add_argument("--out", help="result JSON, a Markdown table beside it (required)")
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


def add_merge(bench) -> argparse.ArgumentParser:
    m = bench.add_parser(
        "merge",
        help="one result (JSON and its table) from bench quality runs of the same settings made apart",
    )
    m.add_argument("results", nargs="+", help="result JSON files, e.g. one per process of a seed split")
    m.add_argument("--out", required=True, help="merged result JSON (a Markdown table is written beside it)")
    return m


def add_report(bench) -> argparse.ArgumentParser:
    r = bench.add_parser("report", help="Markdown page (and step-group plot) from result JSON files")
    r.add_argument("results", nargs="+", help="result JSON files written by bench quality")
    r.add_argument(
        "--out",
        default="runs/report.md",
        help="the Markdown page to write (replaced whole; docs/RESULTS.md is edited by hand)",
    )
    r.add_argument("--intro", default="", help="a file whose text goes under the title")
    return r


def fill_budget(args, training_texts) -> str:
    """Sets the budget flags a user left unset (None) from `--budget`, and returns a line saying what
    they became. `training_texts()` is the number of texts a seed trains on (validation included: what
    a user would give `fit`), asked only under `--budget auto` and `quick` (whose epochs follow it)."""
    from training.bench.methods import follows_fits_filter
    from training.bench.summary import budget_words
    from training.cli.fit import fit_budget, resolved_budget

    if args.budget == "bench":
        budget, name = BENCH_BUDGET, "bench"
        args.fit_min_label_prob = 0.0
    else:
        texts = training_texts() if args.budget in ("auto", "quick") else 0
        budget = fit_budget(args.budget, texts)
        # a method says whether its pseudo samples are filtered (diffusioncls-filter), whatever the budget;
        # the one that trains as fit does (diffusioncls-chosen) takes fit's filter
        args.fit_min_label_prob = budget.pop("min_label_prob")
        # fit stops proxy and classifier apart; the bench's one --patience serves both, and fit's budgets
        # give them the same
        patience = {budget.pop("proxy_patience"), budget.pop("clf_patience")}
        assert len(patience) == 1, patience
        budget["patience"] = patience.pop()
        name = f"fit's {resolved_budget(args.budget, texts)}"
        if args.budget == "auto":
            name += f" (auto: {texts} training texts)"
        elif args.budget == "quick":
            name += f" ({texts} training texts)"
    # the texts are cut where fit would cut them (fit's own default) unless the run is the bench's
    fill_unset(args, {**budget, "max_length": BENCH_MAX_LENGTH if args.budget == "bench" else FIT_MAX_LENGTH})
    words = budget_words(
        proxy=args.proxy_epochs,
        generator=args.gen_epochs,
        classifier=args.clf_epochs,
        n=args.n,
        regenerate_every=args.regenerate_every,
    )
    stopping = "every epoch trained, the last kept" if args.patience == 0 else f"patience {args.patience}"
    line = f"budget {name}: {words}; classifier batches of {args.clf_batch_size}, {stopping}"
    following = follows_fits_filter(m.strip() for m in args.methods.split(","))
    if args.fit_min_label_prob and following:
        line += (
            f"; {', '.join(following)} keeps pseudo samples of label probability >= "
            f"{args.fit_min_label_prob:g}, as fit"
        )
    return line


def quality_config(args, log=print):
    """The BenchConfig of `bench quality`'s flags, with the budget flags left unset filled from
    `--budget` (and `args` updated to match)."""
    from training.bench.quality import BenchConfig, setting_texts
    from training.classifier import ClassifierConfig
    from training.generator import GeneratorConfig

    def training_texts() -> int:
        seed = int(args.seeds.split(",")[0])
        return setting_texts(args.data, args.test_split, args.setting, seed)

    log(fill_budget(args, training_texts))
    sampler = sampler_defaults(args, TOTAL_STEPS)
    return BenchConfig(
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
        decode=diffusion_options(sampler, score=False),
        max_test=args.max_test,
        judge_texts=args.judge_texts,
        device=args.device,
        fit_min_label_prob=args.fit_min_label_prob,
    )

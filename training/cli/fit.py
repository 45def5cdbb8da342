"""`python -m training fit`: labelled data -> proxy -> generator -> classifier -> checkpoint."""

from __future__ import annotations

import argparse
import math

from training.cli.options import (
    add_common,
    decoding_args,
    default_base,
    diffusion_options,
    fill_unset,
    generator_args,
    sampler_defaults,
)


def register(sub) -> None:
    p = sub.add_parser(
        "fit", help="labelled CSV/JSONL -> proxy -> generator -> classifier -> checkpoint folder"
    )
    p.add_argument("--train", required=True, help="labelled .csv/.tsv/.jsonl with text and label")
    p.add_argument(
        "--base",
        default=None,
        help="base masked LM: HF model id or folder (default: the shipped English base, "
        "base_models/minilm-l6-mlm-en-v3)",
    )
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--text-column", default="text", help="column of the texts")
    p.add_argument("--label-column", default="label", help="column of the labels")
    p.add_argument(
        "--val-fraction", type=float, default=VAL_FRACTION, help="validation share carved from --train"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint folder")
    p.add_argument(
        "--budget",
        choices=["auto", *BUDGETS],
        default="auto",
        help="epochs, batch, early stopping and pseudo samples left unset: tiny (under 100 texts: proxy and "
        "classifier 30 epochs, every epoch trained and the last kept, classifier batches of 8, 4 pseudo samples per "
        "text regenerated every 5 epochs), "
        "quick (100 texts and more: proxy and classifier 6 to 30 epochs, as many as give the classifier 250 "
        "steps, every epoch trained and the last kept, 2 pseudo samples per text generated once and filtered), "
        "full (the paper's schedule: early stopping, 4 pseudo samples per text rewritten every epoch; more "
        "than twice quick's time), auto = tiny or quick by the data size (default)",
    )
    _proxy_args(p)
    generator_args(
        p, epochs=None, lr=1e-4, epochs_help="passes over the texts (default: by --budget, 10 tiny, 2 else)"
    )
    _classifier_args(p)
    decoding_args(p, "decoding of pseudo samples (also stored as the checkpoint's defaults)")
    add_common(p)
    p.set_defaults(run=_cmd_fit)


def _proxy_args(p) -> None:
    g = p.add_argument_group("proxy classifier")
    g.add_argument(
        "--proxy-epochs", type=int, default=None, help="default: by --budget (30 tiny, 6-30 quick, 8 full)"
    )
    g.add_argument("--proxy-lr", type=float, default=1e-4, help="learning rate of the proxy")
    g.add_argument("--proxy-batch-size", type=int, default=32, help="texts per batch")
    g.add_argument(
        "--proxy-patience",
        type=int,
        default=None,
        help="epochs without a better validation macro-F1 before stopping; 0 = train every epoch and keep the "
        "last (default: by --budget, 2 full, 0 else)",
    )


def _classifier_args(p) -> None:
    g = p.add_argument_group("task classifier")
    g.add_argument("--no-classifier", action="store_true", help="stop after the generator")
    g.add_argument(
        "--clf-epochs", type=int, default=None, help="default: by --budget (30 tiny, 6-30 quick, 5 full)"
    )
    g.add_argument("--clf-lr", type=float, default=1e-4, help="learning rate of the task classifier")
    g.add_argument(
        "--clf-batch-size",
        type=int,
        default=None,
        help="originals per batch, their pseudo samples join (default: by --budget, 8 tiny, 16 else)",
    )
    g.add_argument(
        "--clf-patience",
        type=int,
        default=None,
        help="epochs without a better validation macro-F1 before stopping; 0 = train every epoch and keep the "
        "last (default: by --budget, 2 full, 0 else)",
    )
    g.add_argument(
        "--policy", choices=["ge", "bd"], default="ge", help="pseudo samples: n each (ge) or balance (bd)"
    )
    g.add_argument(
        "--n",
        type=int,
        default=None,
        help="pseudo samples per original under ge (default: by --budget, 4 tiny, 2 quick, 4 full)",
    )
    g.add_argument(
        "--regenerate-every",
        type=int,
        default=None,
        help="epochs between regenerations, 0 = once (default: by --budget, 5 tiny, 0 quick, 1 full)",
    )
    g.add_argument("--no-reflective", action="store_true", help="mask with the proxy's importance throughout")
    g.add_argument(
        "--min-label-prob",
        type=float,
        default=None,
        help="drop pseudo samples that the proxy (or, when they are rewritten during training, the classifier "
        "being trained) gives the intended label less than this (beyond the paper; 0 = keep all; default: by "
        "--budget, 0.5 quick, 0 tiny and full); given, the checkpoint also keeps it as augment's and POST "
        f"/augment's default label filter, which is otherwise {AUGMENT_MIN_LABEL_PROB:g} whatever the budget",
    )
    g.add_argument(
        "--contrastive-weight",
        type=contrastive_weight,
        default="auto",
        help="weight of Lc (paper eq. 4); auto (default): the paper's 1, but three classifiers are trained "
        "(with Lc, with cross-entropy alone, and on the originals alone without pseudo samples) and the one "
        "scoring highest on the validation split is kept",
    )
    g.add_argument("--tau", type=float, default=0.1, help="temperature of Lc (default 0.1)")
    g = p.add_argument_group("ablations (paper Table 4)")
    g.add_argument("--no-augmentation", action="store_true", help="w/o D.A.: no pseudo samples")
    g.add_argument("--no-label-prompt", action="store_true", help="w/o L.A.P.: generator never sees labels")
    g.add_argument("--no-noise-resistance", action="store_true", help="w/o N.R.T.: cross-entropy only")


def contrastive_weight(value: str) -> str | float:
    """`--contrastive-weight`: "auto" or a number >= 0."""
    if value == "auto":
        return value
    try:
        weight = float(value)
    except ValueError:
        weight = -1.0
    if not weight >= 0:
        raise argparse.ArgumentTypeError(f"expected auto or a number >= 0, got {value!r}")
    return weight


VAL_FRACTION = 0.1  # fit's default validation share, which the budget and the time estimate assume
TINY_BELOW = 100  # texts: below this, `--budget auto` is tiny, else quick
BUDGETS = ("tiny", "quick", "full")
# Optimizer steps the quick classifier gets (within QUICK_EPOCHS): plain fine-tuning on emotion_dair
# still gained from 140 to 210 steps on 120 texts and nothing from 255 to 510 on 300 (docs/RESULTS.md)
QUICK_STEPS = 250
QUICK_EPOCHS = (6, 30)  # the fewest and most epochs of the quick proxy and classifier
# Under quick, the classifier's pseudo samples are kept where the proxy gives them their intended label
# at least this probability (`--min-label-prob`); docs/RESULTS.md, "A label filter at the quick budget".
QUICK_MIN_LABEL_PROB = 0.5
# The label filter (with top-up) the checkpoint gives `augment` and POST /augment by default, whatever
# the budget, unless `--min-label-prob` names one: trained on with plain cross-entropy, the texts it
# returns beat the unfiltered ones on 60 and on 300 emotion tweets and on 200 SST-2 reviews, and leaned
# -1.0 on 20 SST-2 reviews (docs/RESULTS.md, "The label filter under 100 texts, and on the scale ...")
AUGMENT_MIN_LABEL_PROB = 0.5


def resolved_budget(budget: str, texts: int) -> str:
    """ "tiny", "quick" or "full": what `--budget` (auto or one of those) means for `texts` texts. auto
    never gives full (why: `fit_budget`)."""
    if budget != "auto":
        return budget
    return "tiny" if texts < TINY_BELOW else "quick"


def quick_epochs(texts: int, batch_size: int) -> int:
    """Epochs that give `QUICK_STEPS` optimizer steps in batches of `batch_size` over the texts left
    after fit's default validation split, within `QUICK_EPOCHS`."""
    low, high = QUICK_EPOCHS
    batches = max(1, math.ceil((1 - VAL_FRACTION) * texts / batch_size))
    return min(high, max(low, math.ceil(QUICK_STEPS / batches)))


def fit_budget(budget: str, texts: int) -> dict[str, int | float]:
    """Epochs, batch, early stopping and pseudo samples for the flags a user left unset (fit's flag
    names), for `texts` texts (validation included).

    - tiny (a handful of texts per label): the k-shot budget of docs/RESULTS.md, where DiffusionCLS
      beats plain fine-tuning (SST-2 and emotion_dair 10-shot). Under the old quick budget, early
      stopping on a validation split of one text per label ended most runs after 3 epochs with epoch
      1's weights, and plain fine-tuning scored SST-2 10-shot macro-F1 46.4 against 65.1; so every
      epoch is trained and the last kept, 30 of them in batches of 8 (twenty texts make 2-3 batches).
    - quick (100 texts and more): proxy and classifier train every epoch and keep the last, as many
      epochs as give the classifier `QUICK_STEPS` steps (30 at 100 texts, 15 at 300, 6 from about 730).
      Six epochs with early stopping (the budget until 2026-12-06) left plain fine-tuning on 300
      emotion_dair tweets at macro-F1 47.6 against 62.0 with 15 epochs kept to the last: early stopping
      on 30 validation texts stopped on noise, and six epochs were too few steps. The classifier's
      pseudo samples are generated once (their regeneration would dominate the time) and kept where
      the proxy gives them their label with probability >= 0.5 (calibrated, as augment's label_prob):
      trained that long on unfiltered ones, the paper's classifier lost 2.6-9.1 macro-F1 points to
      plain fine-tuning on three sets of a few
      hundred texts; filtered, it regained 2.1-8.3 of them on each (15 of 15 seeds). On 1,000 texts
      (SST-2 and emotion_dair, 2026-12-07) the classifier it serves scored +1.25 and +1.55 macro-F1
      above full's for well under half the time, and its plain fine-tuning +1.57 * and +1.77 * above
      full's early-stopped one, so `auto` gives quick from 100 texts up.
    - full: the paper's schedule (early stopping with patience 2, 4 pseudo samples per text rewritten
      every epoch, no filter), only when asked for by name."""
    steady = {"gen_epochs": 2, "clf_batch_size": 16}
    resolved = resolved_budget(budget, texts)
    if resolved == "tiny":
        return {
            "proxy_epochs": 30,
            "gen_epochs": 10,
            "clf_epochs": 30,
            "clf_batch_size": 8,
            "proxy_patience": 0,
            "clf_patience": 0,
            "n": 4,
            "regenerate_every": 5,
            "min_label_prob": 0.0,
        }
    if resolved == "quick":
        epochs = quick_epochs(texts, steady["clf_batch_size"])
        return {
            **steady,
            "proxy_epochs": epochs,
            "clf_epochs": epochs,
            "proxy_patience": 0,
            "clf_patience": 0,
            "n": 2,
            "regenerate_every": 0,
            "min_label_prob": QUICK_MIN_LABEL_PROB,
        }
    early_stopping = {"proxy_patience": 2, "clf_patience": 2}
    return {
        "proxy_epochs": 8,
        "clf_epochs": 5,
        "n": 4,
        "regenerate_every": 1,
        "min_label_prob": 0.0,
        **steady,
        **early_stopping,
    }


# Seconds per text on 2 idle CPU cores (MiniLM-L6, texts of ~12-25 words, bf16 `auto` precision),
# measured on fits of the shipped sample (quick: 298 s) and of 20 SST-2 sentences (tiny: 108 s) on
# 2026-12-06: one proxy epoch (its importance weights included), one generator draw, one classifier
# epoch, one decoding round of one pseudo sample.
_SECONDS_PER_TEXT = {"proxy_epoch": 0.017, "draw": 0.016, "epoch": 0.008, "decode_round": 0.006}


def fit_minutes(texts: int, args, rounds: int) -> float:
    c = _SECONDS_PER_TEXT
    train = (1 - VAL_FRACTION) * texts
    seconds = args.proxy_epochs * train * c["proxy_epoch"] + args.gen_epochs * args.draws * train * c["draw"]
    if not args.no_classifier:
        pseudo = 0 if args.no_augmentation else args.n * train
        regenerations = (
            1 if args.regenerate_every == 0 else math.ceil(args.clf_epochs / args.regenerate_every)
        )
        # when the classifier is chosen, a second one trains on the same first pseudo samples and a
        # third on the originals alone
        choosing = _chooses_classifier(args)
        augmented = 2 if choosing else 1
        seconds += (
            augmented * args.clf_epochs * (train + pseudo) * c["epoch"]
            + (args.clf_epochs * train * c["epoch"] if choosing and pseudo else 0)
            + (1 + augmented * (regenerations - 1)) * pseudo * rounds * c["decode_round"]
        )
    return seconds / 60


def _cmd_fit(args) -> int:
    from dataclasses import replace

    from training.data import read_labelled
    from training.generator import ScheduleConfig
    from training.pipeline import fit

    if args.base is None:
        args.base = default_base()
    data = read_labelled(args.train, text_column=args.text_column, label_column=args.label_column)
    print(f"{len(data)} texts, {len(data.label_names)} labels: {data.counts()}")
    asked_filter = args.min_label_prob  # None unless given: the budget's filter, and augment's default
    fill_unset(args, fit_budget(args.budget, len(data)))
    sampler = sampler_defaults(args, args.total_steps)
    augment_filter = AUGMENT_MIN_LABEL_PROB if asked_filter is None else asked_filter
    print(budget_line(args, len(data)))
    print(f"estimate: {fit_minutes(len(data), args, sampler.rounds):.0f} min on 2 CPU cores (less on a GPU)")
    report = fit(
        data,
        args.base,
        args.out,
        **_stage_configs(args, sampler),
        label_prompt=not args.no_label_prompt,
        schedule=ScheduleConfig(args.total_steps, args.lam),
        sampler=replace(sampler, min_label_prob=augment_filter),
        val_fraction=args.val_fraction,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    _print_report(report)
    return 0


def budget_line(args, texts: int) -> str:
    """What `fit` will train, in one line: the budget it resolved and the flags' values."""
    from training.bench.summary import regeneration_words

    resolved = resolved_budget(args.budget, texts)
    name = f"auto ({resolved}: {texts} texts)" if args.budget == "auto" else args.budget
    epochs = f"{args.clf_epochs} in batches of {args.clf_batch_size}"
    if args.no_classifier:
        classifier = "none"
    elif args.no_augmentation:
        classifier = f"{epochs} on the originals alone"
    else:
        pseudo = f"{args.n} pseudo samples per text {regeneration_words(args.regenerate_every)}"
        classifier = f"{epochs} with {pseudo}"
        if args.min_label_prob:
            # made once, the proxy scores them; rewritten during training (reflective generation), the
            # classifier being trained scores the later ones
            reflective = args.regenerate_every != 0 and not args.no_reflective
            scorer = "the proxy, then the classifier being trained," if reflective else "the proxy"
            classifier += f", kept where {scorer} gives their label >= {args.min_label_prob:g}"
            if not reflective:  # the proxy's calibrated probabilities: the scale of augment's label_prob
                classifier += " (calibrated, as label_prob)"
    patience = {"proxy": args.proxy_patience}
    if not args.no_classifier:
        patience["classifier"] = args.clf_patience
    stages = " and ".join(patience) if len(set(patience.values())) == 1 else None

    def stopping(stage: str, epochs: int) -> str:
        if epochs == 0:
            return f"{stage}: every epoch trained, the last kept"
        return f"{stage}: early stopping after {epochs} epochs without a better validation macro-F1"

    said = (
        stopping(stages, args.proxy_patience) if stages else ", ".join(stopping(*p) for p in patience.items())
    )
    return (
        f"budget {name}: proxy {args.proxy_epochs} epochs, generator {args.gen_epochs}, classifier "
        f"{classifier}; {said}"
    )


def _stage_configs(args, sampler) -> dict:
    """The proxy, generator and classifier settings, the noise-resistant loss and the pseudo-sample
    plan that `fit` takes, from the flags."""
    from training.classifier import ClassifierConfig, NoiseResistance
    from training.generator import GeneratorConfig
    from training.pipeline import PseudoPlan

    common = {"max_length": args.max_length, "precision": args.precision}
    classifier = ClassifierConfig(
        lr=args.clf_lr,
        epochs=args.clf_epochs,
        batch_size=args.clf_batch_size,
        patience=args.clf_patience,
        **common,
    )
    return {
        "proxy_config": ClassifierConfig(
            lr=args.proxy_lr,
            epochs=args.proxy_epochs,
            batch_size=args.proxy_batch_size,
            patience=args.proxy_patience,
            **common,
        ),
        "generator_config": GeneratorConfig(
            lr=args.gen_lr,
            epochs=args.gen_epochs,
            draws_per_example=args.draws,
            batch_size=args.gen_batch_size,
            label_dropout=args.label_dropout,
            **common,
        ),
        "classifier_config": None if args.no_classifier else classifier,
        "noise": NoiseResistance(weight=_contrastive(args), temperature=args.tau),
        "choose_classifier": _chooses_classifier(args),
        "plan": PseudoPlan(
            enabled=not args.no_augmentation,
            policy=args.policy,
            n=args.n,
            regenerate_every=args.regenerate_every,
            reflective=not args.no_reflective,
            min_label_prob=args.min_label_prob,
            options=diffusion_options(sampler, score=False),
        ),
    }


def _chooses_classifier(args) -> bool:
    """Whether the classifier is trained with Lc, without, and on the originals alone, and the best
    kept (`auto`)."""
    return args.contrastive_weight == "auto" and not args.no_noise_resistance


def _contrastive(args) -> float:
    """The weight of Lc the classifier is trained with (when the loss is chosen, also with 0)."""
    if args.no_noise_resistance:
        return 0.0
    return 1.0 if args.contrastive_weight == "auto" else args.contrastive_weight


def _print_report(report: dict) -> None:
    proxy = report["proxy"]
    print(f"proxy: best epoch {proxy['best_epoch']}, validation macro-F1 {proxy['best_val_macro_f1']:.4f}")
    last = report["generator"]["history"][-1]
    print("generator: " + ", ".join(f"{k}={v:.4f}" for k, v in last.items() if k != "epoch"))
    if report["classifier"]:
        clf = report["classifier"]
        print(
            f"classifier: best epoch {clf['best_epoch']}, validation macro-F1 {clf['best_val_macro_f1']:.4f}"
        )
        choice = clf.get("classifier_choice")
        if choice:
            for i, candidate in enumerate(choice["candidates"]):
                kept = "kept" if i == choice["kept"] else "    "
                print(f"  {kept} validation macro-F1 {candidate['val_macro_f1']:.4f}: {candidate['name']}")
            if not choice["candidates"][choice["kept"]]["pseudo_samples"]:
                print(
                    "  the pseudo samples did not help the classifier on this validation split: /classify "
                    "serves the one trained without them; /augment serves the generator as always"
                )
        cal = clf["calibration"]
        print(
            f"classifier probabilities calibrated on {cal['texts']} validation texts: logits divided "
            f"by {cal['temperature']:.2f} "
            f"(NLL {cal['nll'][0]:.3f} -> {cal['nll'][1]:.3f}, ECE {cal['ece'][0]:.3f} -> {cal['ece'][1]:.3f})"
        )
    print("seconds: " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()))
    print(f"wrote {report['checkpoint']}")

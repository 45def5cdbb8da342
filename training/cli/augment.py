"""`python -m training augment`: labelled texts -> new labelled texts with any method of the registry."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from training.cli.options import add_common, diffusion_options, write_rows
from training.defaults import DECODING_KNOBS, PSEUDO_PER_ORIGINAL


def register(sub) -> None:
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
    p.add_argument("--text-column", default="text", help="column of the texts")
    p.add_argument("--label-column", default="label", help="column of the labels")
    p.add_argument(
        "--policy", choices=["ge", "bd"], default="ge", help="ge: --n per text; bd: balance the classes"
    )
    p.add_argument(
        "--n",
        type=int,
        default=PSEUDO_PER_ORIGINAL,
        help=f"new texts per input under the ge policy (default {PSEUDO_PER_ORIGINAL})",
    )
    _method_setting_args(p)
    p.add_argument("--no-score", action="store_true", help="skip the classifier's probability of each label")
    p.add_argument("--limit", type=int, default=None, help="augment only the first N inputs")
    add_common(p)
    p.set_defaults(run=_cmd_augment)


def _method_setting_args(p) -> None:
    g = p.add_argument_group("method settings (shortcuts for --param; each applies where the method has it)")
    g.add_argument(
        "--steps",
        default=None,
        help="diffusioncls corruption steps: 13-16, 14 or group:4 (default: checkpoint's)",
    )
    # Numbers only: the method's registry parameters check them, with that method's limits (diffusioncls:
    # training/defaults.py's DECODING_KNOBS; mlm_substitution has its own top-k and temperature).
    for name, knob in DECODING_KNOBS.items():
        g.add_argument(
            "--" + name.replace("_", "-"),
            type=knob.kind,
            default=None,
            help=f"{knob.help} (diffusioncls: {knob.describe()}, default: the checkpoint's)",
        )
    g.add_argument("--batch-size", type=int, default=None, help="texts per forward pass (default 64)")
    g.add_argument("--max-attempts", type=int, default=None, help="passes before a shortfall (default 4)")
    g.add_argument(
        "--min-label-prob",
        type=float,
        default=None,
        help="diffusioncls: keep outputs the classifier gives their label at least this probability, topping up "
        "with fresh rewrites; the best of the rest, flagged, fill what is still missing (0 = off; default: the "
        "checkpoint's: 0.5 for checkpoints fit writes, unless fit --min-label-prob named another)",
    )


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
    "guidance_scale",
    "guided_rounds",
    "repetition_penalty",
    "prior_correction",
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

    from training.augmenters.registry import build_augmenter, parse_params
    from training.data import read_labelled
    from training.policies import augment_balanced, each_counts

    if not Path(args.input).is_file():
        raise FileNotFoundError(f"--input {args.input} does not exist")
    params = method_params(args)
    parse_params(args.method, params)  # bad parameters fail before anything is loaded
    if args.method == "diffusioncls" and not args.checkpoint:
        raise ValueError("method diffusioncls needs --checkpoint")
    if args.base and args.method != "mlm_substitution":
        raise ValueError("--base applies to method mlm_substitution only")
    if args.method == "mlm_substitution" and not args.base:
        raise ValueError("method mlm_substitution needs --base (a masked-LM folder or HF id)")
    data = read_labelled(
        args.input, text_column=args.text_column, label_column=args.label_column, min_classes=1
    )
    if args.limit:
        data = data.subset(range(min(args.limit, len(data))))
    t0 = time.perf_counter()
    resources, scorer = _resources(args, data.labels)
    method = build_augmenter(args.method, params, resources)
    load_seconds = time.perf_counter() - t0
    bar = tqdm(total=0, desc=f"augment ({args.method})", unit="text", disable=args.quiet)

    def progress(done: int, requested: int) -> None:
        bar.total = requested
        bar.n = done
        bar.refresh()

    t0 = time.perf_counter()
    if args.policy == "bd":
        result = augment_balanced(method, data.texts, data.labels, seed=args.seed, progress=progress)
    else:
        result = method.augment(
            data.texts, data.labels, each_counts(len(data), args.n), seed=args.seed, progress=progress
        )
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


def _resources(args, labels):
    """The models the method needs (a checkpoint's generator and classifier, or an MLM base), and the
    classifier that scores a classic method's outputs (None when there is none or --no-score)."""
    from training.augmenters.registry import Resources
    from training.common import resolve_device

    device = resolve_device(args.device)
    resources = Resources(mlm_base=args.base, device=str(device))
    if not args.checkpoint:
        return resources, None
    from training.augmenters.diffusion import DiffusionAugmenter
    from training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(args.checkpoint, device)
    diffusion = DiffusionAugmenter.from_checkpoint(checkpoint, args.precision)
    if args.method != "diffusioncls":
        return resources, None if args.no_score else diffusion.scorer
    diffusion.check_labels(labels)
    resources.diffusion = diffusion
    sampler = checkpoint.settings.sampler
    resources.diffusion_options = diffusion_options(sampler, min_label_prob=sampler.min_label_prob)
    return resources, None


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
    write_rows(path, OUTPUT_COLUMNS, rows)

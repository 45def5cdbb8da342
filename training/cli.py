"""`python -m training <command>`: pretrain, fit, augment (with any method of the registry)."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path

from training.data import DataError


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("pretrain", help="masked-diffusion training of a base MLM on unlabelled text")
    p.add_argument("--base", required=True, help="HF model id or folder (an MLM head is created if missing)")
    p.add_argument("--texts", required=True, nargs="+", help=".txt (one text per line), .csv or .jsonl files")
    p.add_argument("--text-column", default="text")
    p.add_argument("--out", required=True, help="output model folder (usable as --base of fit)")
    _generator_args(p, epochs=1, lr=2e-4)
    _add_common(p)

    p = sub.add_parser("fit", help="labelled CSV/JSONL -> proxy -> generator -> checkpoint folder")
    p.add_argument("--train", required=True, help="labelled .csv/.tsv/.jsonl with text and label")
    p.add_argument("--base", required=True, help="base MLM: HF model id or folder")
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--val-fraction", type=float, default=0.1, help="validation share carved from --train")
    p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint folder")
    g = p.add_argument_group("proxy classifier")
    g.add_argument("--proxy-epochs", type=int, default=8)
    g.add_argument("--proxy-lr", type=float, default=1e-4)
    g.add_argument("--proxy-batch-size", type=int, default=32)
    g.add_argument("--proxy-patience", type=int, default=2)
    _generator_args(p, epochs=2, lr=1e-4)
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
    g.add_argument("--rounds", type=int, default=None, help="decoding rounds K (default: checkpoint's, 4)")
    g.add_argument("--temperature", type=float, default=None)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (1 = off)")
    g.add_argument("--batch-size", type=int, default=None, help="texts per forward pass (default 64)")
    g.add_argument("--max-attempts", type=int, default=None, help="passes before a shortfall (default 4)")
    p.add_argument("--no-score", action="store_true", help="skip the classifier's probability of each label")
    p.add_argument("--limit", type=int, default=None, help="augment only the first N inputs")
    _add_common(p)
    return parser


def _cmd_pretrain(args) -> int:
    from training.data import read_texts
    from training.generator import GeneratorConfig, ScheduleConfig
    from training.pipeline import pretrain

    texts = [t for path in args.texts for t in read_texts(path, args.text_column)]
    config = GeneratorConfig(
        lr=args.gen_lr,
        epochs=args.gen_epochs,
        draws_per_example=args.draws,
        batch_size=args.gen_batch_size,
        label_dropout=args.label_dropout,
        max_length=args.max_length,
    )
    report = pretrain(
        args.base,
        texts,
        args.out,
        config,
        ScheduleConfig(args.total_steps, args.lam),
        args.seed,
        args.device,
        progress=not args.quiet,
    )
    print(json.dumps({k: report[k] for k in ("base_model", "head_created", "texts", "seconds")}, indent=2))
    print(f"wrote {args.out}")
    return 0


def _cmd_fit(args) -> int:
    from training.classifier import ClassifierConfig
    from training.data import read_labelled
    from training.generator import GeneratorConfig, ScheduleConfig
    from training.pipeline import fit

    data = read_labelled(args.train, args.text_column, args.label_column)
    print(f"{len(data)} texts, {len(data.label_names)} labels: {data.counts()}")
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
        ),
        generator_config=GeneratorConfig(
            lr=args.gen_lr,
            epochs=args.gen_epochs,
            draws_per_example=args.draws,
            batch_size=args.gen_batch_size,
            label_dropout=args.label_dropout,
            max_length=args.max_length,
        ),
        schedule=ScheduleConfig(args.total_steps, args.lam),
        val_fraction=args.val_fraction,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    print(
        f"proxy: best epoch {report['proxy']['best_epoch']}, validation macro-F1 "
        f"{report['proxy']['best_val_macro_f1']:.4f}"
    )
    last = report["generator"]["history"][-1]
    print("generator: " + ", ".join(f"{k}={v:.4f}" for k, v in last.items() if k != "epoch"))
    print("seconds: " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()))
    print(f"wrote {report['checkpoint']}")
    return 0


OUTPUT_COLUMNS = [
    "text",
    "label",
    "source_index",
    "source_text",
    "method",
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
# Method settings given as flags: flag attribute -> parameter name in the registry.
_SHORTCUTS = {
    "steps": "steps",
    "rounds": "rounds",
    "temperature": "temperature",
    "top_k": "top_k",
    "top_p": "top_p",
    "guidance": "guidance",
    "batch_size": "batch_size",
    "max_attempts": "max_attempts",
}


def method_params(args) -> dict[str, str | int | float | bool]:
    """--param KEY=VALUE pairs plus the shortcut flags; a flag the method does not take is an error."""
    from training.augmenters.registry import PARAMS

    params: dict[str, str | int | float | bool] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param wants KEY=VALUE, got {item!r}")
        params[key.strip()] = value.strip()
    for attr, key in _SHORTCUTS.items():
        value = getattr(args, attr)
        if value is None:
            continue
        if key not in PARAMS[args.method]:
            flag = "--" + attr.replace("_", "-")
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
        from training.augmenters.diffusion import DiffusionAugmenter, DiffusionOptions
        from training.checkpoint import load_checkpoint
        from training.sampler import DecodeConfig

        checkpoint = load_checkpoint(args.checkpoint, device)
        diffusion = DiffusionAugmenter.from_checkpoint(checkpoint)
        if args.method == "diffusioncls":
            diffusion.check_labels(data.labels)
            defaults = checkpoint.settings.sampler
            resources.diffusion = diffusion
            resources.diffusion_options = DiffusionOptions(
                steps=defaults.steps,
                decode=DecodeConfig(
                    rounds=defaults.rounds,
                    temperature=defaults.temperature,
                    top_k=defaults.top_k,
                    top_p=defaults.top_p,
                    guidance_scale=defaults.guidance_scale,
                ),
            )
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        if path.suffix.lower() in (".jsonl", ".json"):
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(fh, fieldnames=OUTPUT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        **row,
                        **{
                            k: json.dumps(row[k], ensure_ascii=False)
                            for k in ("masked_positions", "details")
                            if k in row
                        },
                    }
                )
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    from training.common import quiet_transformers

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    quiet_transformers()
    handlers = {"pretrain": _cmd_pretrain, "fit": _cmd_fit, "augment": _cmd_augment}
    try:
        return handlers[args.command](args)
    except (DataError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

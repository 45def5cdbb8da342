"""`python -m training <command>`: pretrain, fit, augment."""

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

    p = sub.add_parser("augment", help="checkpoint + labelled CSV -> CSV of new labelled texts")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True, help="labelled .csv/.tsv/.jsonl (text, label)")
    p.add_argument("--out", required=True, help="output .csv or .jsonl")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument(
        "--policy", choices=["ge", "bd"], default="ge", help="ge: --n per text; bd: balance the classes"
    )
    p.add_argument("--n", type=int, default=4, help="new texts per input under the ge policy (default 4)")
    p.add_argument(
        "--steps", default=None, help="corruption steps: 13-16, 14 or group:4 (default: checkpoint's)"
    )
    p.add_argument("--rounds", type=int, default=None, help="decoding rounds K (default: checkpoint's, 4)")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (1 = off)")
    p.add_argument("--batch-size", type=int, default=64, help="chains per forward pass")
    p.add_argument("--max-attempts", type=int, default=4)
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
    "seed",
    "chain",
    "step",
    "rounds",
    "mask_ratio",
    "changed_ratio",
    "masked_positions",
    "label_prob",
    "predicted_label",
]


def _cmd_augment(args) -> int:
    from tqdm.auto import tqdm

    from training.augmenters.diffusion import DiffusionAugmenter, DiffusionOptions
    from training.checkpoint import load_checkpoint
    from training.common import resolve_device
    from training.data import read_labelled
    from training.policies import augment_balanced, each_counts
    from training.sampler import DecodeConfig
    from training.schedule import parse_step_range

    data = read_labelled(args.input, args.text_column, args.label_column, min_classes=1)
    if args.limit:
        data = data.subset(range(min(args.limit, len(data))))
    t0 = time.perf_counter()
    checkpoint = load_checkpoint(args.checkpoint, resolve_device(args.device))
    augmenter = DiffusionAugmenter.from_checkpoint(checkpoint)
    augmenter.check_labels(data.labels)
    load_seconds = time.perf_counter() - t0
    defaults = checkpoint.settings.sampler
    decode = DecodeConfig(
        rounds=args.rounds if args.rounds is not None else defaults.rounds,
        temperature=args.temperature if args.temperature is not None else defaults.temperature,
        top_k=args.top_k if args.top_k is not None else defaults.top_k,
        top_p=args.top_p if args.top_p is not None else defaults.top_p,
        guidance_scale=args.guidance if args.guidance is not None else defaults.guidance_scale,
    )
    total_steps = checkpoint.settings.schedule.total_steps
    steps = parse_step_range(args.steps, total_steps) if args.steps else defaults.steps
    options = DiffusionOptions(
        steps=steps,
        decode=decode,
        max_attempts=args.max_attempts,
        batch_size=args.batch_size,
        score=not args.no_score,
    )
    bar = tqdm(total=0, desc="augment", unit="text", disable=args.quiet)

    def progress(done: int, requested: int) -> None:
        bar.total = requested
        bar.n = done
        bar.refresh()

    t0 = time.perf_counter()
    method = augmenter.configured(options)
    if args.policy == "bd":
        result = augment_balanced(method, data.texts, data.labels, args.seed, progress=progress)
    else:
        result = method.augment(data.texts, data.labels, each_counts(len(data), args.n), args.seed, progress)
    bar.close()
    seconds = time.perf_counter() - t0
    _write_augmentations(Path(args.out), data, result.augmentations)
    summary = summarise(result, seconds, load_seconds)
    print(json.dumps(summary, indent=2))
    for s in result.shortfalls[:10]:
        where = f"input {s.source_index}" if s.source_index >= 0 else "class"
        print(f"shortfall ({where}): {s.reason}", file=sys.stderr)
    print(f"wrote {len(result.augmentations)} texts to {args.out}")
    return 0


def summarise(result, seconds: float, load_seconds: float) -> dict:
    aug = result.augmentations
    scored = [a for a in aug if "predicted_label" in a.provenance]
    return {
        "requested": result.stats["requested"],
        "produced": len(aug),
        "shortfalls": len(result.shortfalls),
        "label_agreement": round(
            sum(a.provenance["predicted_label"] == a.label for a in scored) / len(scored), 4
        )
        if scored
        else None,
        "mean_label_prob": round(sum(a.provenance["label_prob"] for a in scored) / len(scored), 4)
        if scored
        else None,
        "mean_changed_ratio": round(sum(a.provenance["changed_ratio"] for a in aug) / len(aug), 4)
        if aug
        else None,
        "mean_mask_ratio": round(sum(a.provenance["mask_ratio"] for a in aug) / len(aug), 4) if aug else None,
        "chains_decoded": result.stats["chains_decoded"],
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
                writer.writerow({**row, "masked_positions": json.dumps(row["masked_positions"])})
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

"""`python -m training classify` and `evaluate`: a checkpoint's classifier on texts."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from training.cli.options import add_device, write_rows


def register(sub) -> None:
    p = sub.add_parser("classify", help="checkpoint + texts -> predicted labels with probabilities")
    p.add_argument("--checkpoint", required=True, help="a fitted checkpoint folder")
    p.add_argument(
        "--input", required=True, help=".csv/.tsv/.jsonl with a text column, or .txt (one per line)"
    )
    p.add_argument("--out", required=True, help="output .csv or .jsonl")
    p.add_argument("--text-column", default="text", help="column of the texts (default text)")
    _inference_args(p)
    p.set_defaults(run=_cmd_classify)

    p = sub.add_parser("evaluate", help="checkpoint + labelled CSV -> accuracy, macro-F1, report, confusion")
    p.add_argument("--checkpoint", required=True, help="a fitted checkpoint folder")
    p.add_argument("--input", required=True, help="labelled .csv/.tsv/.jsonl (text, label)")
    p.add_argument("--out", default=None, help="write the report as JSON here")
    p.add_argument("--text-column", default="text", help="column of the texts (default text)")
    p.add_argument("--label-column", default="label", help="column of the gold labels (default label)")
    _inference_args(p)
    p.set_defaults(run=_cmd_evaluate)


def _inference_args(p) -> None:
    p.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="texts per forward pass (default 64; larger is faster on a GPU, up to its memory)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device(p)


def _predict(runner, texts: Sequence[str], args):
    """Probabilities of `texts`, with a progress bar on a terminal unless --quiet."""
    from tqdm.auto import tqdm

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    runner.batch_size = args.batch_size
    with tqdm(total=len(texts), unit="text", disable=args.quiet, desc="classifying") as bar:
        return runner.predict_proba(texts, progress=bar.update)


def _load_judge(folder: str, device: str, precision: str = "auto"):
    """The task classifier of a checkpoint, or its proxy when it has none; and which one it is."""
    from training.checkpoint import load_checkpoint
    from training.common import resolve_device

    checkpoint = load_checkpoint(folder, resolve_device(device), components=("proxy", "classifier"))
    return checkpoint.judge_runner(precision=precision)


def _cmd_classify(args) -> int:
    from training.data import read_texts

    texts = read_texts(args.input, args.text_column)
    runner, name = _load_judge(args.checkpoint, args.device, args.precision)
    t0 = time.perf_counter()
    probs = _predict(runner, texts, args)
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
    write_rows(Path(args.out), ["text", "label", *(f"prob_{n}" for n in names)], rows)
    print(f"classified {len(texts)} texts with the {name} in {seconds:.1f}s; wrote {args.out}")
    return 0


def _cmd_evaluate(args) -> int:
    from training.data import read_labelled
    from training.metrics import classification_report

    data = read_labelled(
        args.input, text_column=args.text_column, label_column=args.label_column, min_classes=1
    )
    runner, name = _load_judge(args.checkpoint, args.device, args.precision)
    names = runner.label_names
    unknown = sorted(set(data.labels) - set(names))
    if unknown:
        raise ValueError(
            f"{args.input} has label(s) {unknown} the checkpoint does not know; it knows {names}"
        )
    probs = _predict(runner, data.texts, args)
    index = {n: i for i, n in enumerate(names)}
    report = classification_report([index[y] for y in data.labels], probs.argmax(-1).tolist(), names)
    report.update({"model": name, "checkpoint": str(args.checkpoint), "data": str(args.input)})
    print(format_report(report))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        from training.plots import confusion_figure, save_png

        picture = Path(args.out).with_suffix(".confusion.png")
        confusion = report["confusion_matrix"]
        title = f"{report['model']} on {Path(args.input).name}: macro-F1 {report['macro_f1']:.3f}"
        save_png(confusion_figure(confusion["labels"], confusion["matrix"], title), picture)
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

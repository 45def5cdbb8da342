"""Flags and helpers shared by several commands."""

from __future__ import annotations

import argparse
import csv
import json
import os
from dataclasses import replace
from pathlib import Path

from training.defaults import DECODING_KNOBS, TOTAL_STEPS, check_knob


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    p.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        default="auto",
        help="fp32, bf16 (mixed precision) or auto: bf16 where the hardware computes it natively (default)",
    )


FIT_MAX_LENGTH = 128  # tokens per text, specials included, when `fit` is not told otherwise

# The English base model that ships with the project (base_models/, beside the package in a clone)
SHIPPED_BASE = Path(__file__).resolve().parents[2] / "base_models" / "minilm-l6-mlm-en-v3"


def default_base() -> str:
    """The shipped base model's folder, for a `--base` left out; an error saying what to give when this
    copy of the package has no base_models/ beside it (an installed wheel rather than a clone)."""
    if not (SHIPPED_BASE / "config.json").is_file():
        raise ValueError(f"--base is needed: the shipped base model is not at {SHIPPED_BASE}")
    relative = os.path.relpath(SHIPPED_BASE)  # recorded in the checkpoint: short and portable when it can be
    return str(SHIPPED_BASE) if relative.startswith("..") else relative


def fill_unset(args: argparse.Namespace, values: dict) -> None:
    """Sets each flag of `values` that the user left unset (None): how a budget fills the flags."""
    for flag, value in values.items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    add_device(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def generator_args(p: argparse.ArgumentParser, epochs: int | None, lr: float, epochs_help: str = "") -> None:
    g = p.add_argument_group("generator training")
    g.add_argument("--gen-epochs", type=int, default=epochs, help=epochs_help or "passes over the texts")
    g.add_argument("--gen-lr", type=float, default=lr, help="learning rate of the generator")
    g.add_argument("--gen-batch-size", type=int, default=32, help="masked prompts per batch")
    g.add_argument("--draws", type=int, default=2, help="masks drawn per text per epoch (default 2)")
    g.add_argument(
        "--label-dropout",
        type=float,
        default=0.1,
        help="share of prompts trained with the null label (for guidance)",
    )
    g.add_argument(
        "--max-length", type=int, default=FIT_MAX_LENGTH, help="tokens per prompt, specials included"
    )
    g.add_argument(
        "--total-steps", type=int, default=TOTAL_STEPS, help=f"diffusion steps T (default {TOTAL_STEPS})"
    )
    g.add_argument("--lam", type=float, default=0.5, help="lambda of the label-aware schedule (default 0.5)")


def knob_type(name: str):
    """argparse type of decoding knob `name`: the number, checked against the limits every entry point
    shares (training/defaults.py), or the reason it is refused."""
    knob = DECODING_KNOBS[name]

    def parse(text: str) -> int | float:
        try:
            return check_knob(name, knob.kind(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {knob.describe()}, got {text!r}") from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def decoding_args(p: argparse.ArgumentParser, title: str) -> None:
    g = p.add_argument_group(title)
    g.add_argument(
        "--steps", default=None, help="corruption steps: 13-16, 14 or group:4 (default 13-16 of T=32)"
    )
    for name, knob in DECODING_KNOBS.items():
        g.add_argument(
            "--" + name.replace("_", "-"),
            type=knob_type(name),
            default=None,
            help=f"{knob.help}; {knob.describe()} (default {knob.default:g})",
        )


def sampler_defaults(args, total_steps: int, defaults=None):
    """Decoding flags over `defaults` (the checkpoint's, or the built-in ones)."""
    from training.checkpoint import SamplerDefaults
    from training.steps import parse_steps

    defaults = defaults or SamplerDefaults()
    given = {name: getattr(args, name) for name in DECODING_KNOBS}
    return replace(
        defaults,
        steps=parse_steps(args.steps, total_steps) if args.steps else defaults.steps,
        **{name: value for name, value in given.items() if value is not None},
    )


def diffusion_options(sampler, **kwargs):
    from training.augmenters.diffusion import DiffusionOptions

    return DiffusionOptions.from_settings(sampler, **kwargs)


def write_rows(path: Path, columns: list[str], rows: list[dict]) -> None:
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

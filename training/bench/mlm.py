"""`python -m training bench mlm`: how well each base model fills masks, side by side.

Every base is scored on the very same held-out windows under the very same masks (drawn from a fixed
seed per masking rate), so the figures compare models, not draws. Reported per held-out file and
base: top-1 and top-5 masked-token accuracy at each rate, and pseudo-perplexity (each token masked
alone) on a small subset. Bases must share a tokenizer for the windows to be identical; a base with
another tokenizer gets its own windows cut from the same texts (the report says so).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch

from training.common import pretrained_kwargs, resolve_device
from training.pretrain import heldout_name, heldout_windows, masked_accuracy, pseudo_perplexity


def run_mlm_bench(
    bases: Sequence[str],
    heldout: Sequence[str],
    *,
    rates: Sequence[float] = (0.15, 0.5),
    windows: int = 512,
    pppl_windows: int = 48,
    max_length: int = 64,
    seed: int = 1234,
    device: str = "auto",
    log=print,
) -> dict:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    dev = resolve_device(device)
    rows = []
    for base in bases:
        started = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(str(base), **pretrained_kwargs(base))
        model = AutoModelForMaskedLM.from_pretrained(
            str(base), dtype=torch.float32, **pretrained_kwargs(base)
        ).to(dev)
        for path in heldout:
            texts = heldout_windows(path, tokenizer, max_length=max_length, limit=windows)
            row: dict = {"base": str(base), "heldout": heldout_name(path), "windows": len(texts)}
            for rate in rates:
                scores = masked_accuracy(model, tokenizer, texts, rate=rate, seed=seed + int(rate * 1000))
                row[f"top1@{rate:g}"] = scores["top1"]
                row[f"top5@{rate:g}"] = scores["top5"]
                row[f"loss@{rate:g}"] = scores["loss"]
            if pppl_windows:
                row["pseudo_perplexity"] = pseudo_perplexity(model, tokenizer, texts[:pppl_windows])
            rows.append(row)
            log(_format_row(row, rates))
        log(f"  ({base}: {time.perf_counter() - started:.0f}s)")
    return {
        "bases": list(map(str, bases)),
        "heldout": list(map(str, heldout)),
        "rates": list(rates),
        "windows": windows,
        "pppl_windows": pppl_windows,
        "max_length": max_length,
        "seed": seed,
        "rows": rows,
    }


def _format_row(row: dict, rates: Sequence[float]) -> str:
    parts = [f"{row['base']} on {row['heldout']}:"]
    for rate in rates:
        parts.append(
            f"top-1@{rate:g} {100 * row[f'top1@{rate:g}']:.1f}%, top-5 {100 * row[f'top5@{rate:g}']:.1f}%"
        )
    if "pseudo_perplexity" in row:
        parts.append(f"PPPL {row['pseudo_perplexity']:.1f}")
    return " ".join(parts)


def format_mlm_table(result: dict) -> str:
    rates = result["rates"]
    head = ["held-out", "base"]
    for rate in rates:
        head += [f"top-1 @{100 * rate:g}%", f"top-5 @{100 * rate:g}%"]
    head.append(f"pseudo-perplexity ({result['pppl_windows']} windows)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in sorted(result["rows"], key=lambda r: (r["heldout"], result["bases"].index(r["base"]))):
        cells = [row["heldout"], Path(row["base"]).name]
        for rate in rates:
            cells += [f"{100 * row[f'top1@{rate:g}']:.1f}%", f"{100 * row[f'top5@{rate:g}']:.1f}%"]
        cells.append(f"{row['pseudo_perplexity']:.1f}" if "pseudo_perplexity" in row else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

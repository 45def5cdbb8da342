"""What a checkpoint folder says about itself to a person: README.md (a model card) and
training-curves.svg (loss and validation score per epoch of each component), both written by `fit`
from the settings JSON alone. SVG, drawn here by hand: no plotting library, and it renders on any
code host and in any browser.
"""

from __future__ import annotations

from html import escape
from typing import Any

CURVES_FILE = "training-curves.svg"
CARD_FILE = "README.md"

# Per component: the series worth a line, and how each is named in the legend.
_SERIES = {
    "proxy": (("train_loss", "train loss"), ("val_macro_f1", "val macro-F1")),
    "generator": (("train_loss", "train loss"), ("val_loss", "val loss")),
    "classifier": (("train_loss", "train loss"), ("val_macro_f1", "val macro-F1")),
}
_COLOURS = ("#2f6fdb", "#d9480f")


def _panel(name: str, history: list[dict[str, Any]], left: float, width: float, height: float) -> list[str]:
    """One component's curves, each series scaled to its own range (losses and F1 differ in scale)."""
    top, bottom = 34.0, height - 30.0
    parts = [
        f'<text x="{left + width / 2:.0f}" y="18" text-anchor="middle" font-weight="bold">{escape(name)}</text>',
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" height="{bottom - top:.1f}" fill="none" stroke="#c8ced9"/>',
    ]
    epochs = [row["epoch"] for row in history]
    span = max(1, max(epochs) - min(epochs))
    for k, (key, label) in enumerate(_SERIES[name]):
        points = [(row["epoch"], row[key]) for row in history if isinstance(row.get(key), int | float)]
        if not points:
            continue
        low, high = min(v for _, v in points), max(v for _, v in points)
        scale = (high - low) or 1.0
        xy = [
            (
                left + 8 + (e - min(epochs)) / span * (width - 16),
                bottom - 6 - (v - low) / scale * (bottom - top - 12),
            )
            for e, v in points
        ]
        colour = _COLOURS[k % len(_COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            + '"/>'
        )
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in xy]
        parts.append(
            f'<text x="{left + 4:.1f}" y="{height - 14 + 12 * k - 4:.1f}" fill="{colour}" font-size="11">'
            f"{escape(label)}: {points[0][1]:.3f} → {points[-1][1]:.3f}</text>"
        )
    parts.append(
        f'<text x="{left + width:.1f}" y="{height - 2:.1f}" text-anchor="end" font-size="10" fill="#5b6475">'
        f"epochs {min(epochs)}-{max(epochs)}</text>"
    )
    return parts


def _histories(settings: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(component, history) of each component that has one, in plotting order."""
    return [
        (name, settings[name]["history"]) for name in _SERIES if (settings.get(name) or {}).get("history")
    ]


def curves_svg(settings: dict[str, Any]) -> str:
    """Side-by-side panels for the components with a training history; "" when none has one."""
    panels = _histories(settings)
    if not panels:
        return ""
    width, height, gap = 260.0, 220.0, 24.0
    total = len(panels) * width + (len(panels) + 1) * gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total:.0f}" height="{height + 10:.0f}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="#fff"/>',
    ]
    for i, (name, history) in enumerate(panels):
        parts += _panel(name, history, gap + i * (width + gap), width, height)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _last(history: list[dict[str, Any]], key: str) -> str:
    values = [row[key] for row in history if isinstance(row.get(key), int | float)]
    return f"{values[-1]:.4f}" if values else "–"


def model_card(settings: dict[str, Any], folder_name: str) -> str:
    """A short Markdown card: what the checkpoint is, what it was fitted on, how to use it."""
    data = settings.get("data") or {}
    sampler = settings.get("sampler") or {}
    lines = [
        f"# {folder_name}",
        "",
        "A DiffusionCLS checkpoint written by `python -m training fit`: a label-conditioned masked-diffusion",
        "generator with its proxy classifier"
        + (" and a task classifier." if settings.get("classifier") else "."),
        "",
        f"- Labels: {', '.join(settings.get('labels', []))}",
        f"- Base model: `{settings.get('base_model')}`",
        f"- Fitted on: `{data.get('source')}` ({data.get('train')} training and {data.get('validation')} "
        f"validation texts; counts {data.get('label_counts')})",
        f"- Components: {', '.join(settings.get('components', []))}",
        f"- Created: {settings.get('created_at')}; versions {settings.get('versions')}",
        f"- Decoding defaults: steps {sampler.get('steps')}, rounds {sampler.get('rounds')}, temperature "
        f"{sampler.get('temperature')}, top-p {sampler.get('top_p')}, guidance {sampler.get('guidance_scale')}",
        "",
        "| component | epochs | last train loss | last validation score |",
        "|---|---|---|---|",
    ]
    for name, history in _histories(settings):
        score_key = "val_loss" if name == "generator" else "val_macro_f1"
        score_name = "loss" if name == "generator" else "macro-F1"
        lines.append(
            f"| {name} | {len(history)} | {_last(history, 'train_loss')} | {score_name} {_last(history, score_key)} |"
        )
    if _histories(settings):  # write_checkpoint writes the curves exactly then
        lines += ["", f"![training curves]({CURVES_FILE})"]
    lines += [
        "",
        "Use it:",
        "",
        "```python",
        "from training import Augmenter, Classifier",
        "",
        f'aug = Augmenter.from_pretrained("{folder_name}")',
        "```",
        "",
        "or serve it: `CHECKPOINT_DIR=<this folder> python -m service`. Everything it needs to load is",
        "in this folder (`diffusioncls.json` holds the full settings and training histories).",
    ]
    return "\n".join(lines) + "\n"


def confusion_svg(labels: list[str], matrix: list[list[int]], title: str = "") -> str:
    """A confusion matrix as a heat map: rows gold, columns predicted, each cell shaded by its share
    of the row (recall per class on the diagonal) and labelled with its count."""
    cell, left, top = 56.0, 110.0, 70.0
    n = len(labels)
    width, height = left + n * cell + 20, top + n * cell + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="{left:.0f}" y="18" font-weight="bold">{escape(title)}</text>',
        f'<text x="{left + n * cell / 2:.0f}" y="38" text-anchor="middle" fill="#5b6475">predicted</text>',
        f'<text x="14" y="{top + n * cell / 2:.0f}" fill="#5b6475">gold</text>',
    ]
    for j, name in enumerate(labels):
        parts.append(
            f'<text x="{left + j * cell + cell / 2:.0f}" y="{top - 8:.0f}" text-anchor="middle">{escape(name[:9])}</text>'
        )
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        parts.append(
            f'<text x="{left - 8:.0f}" y="{top + i * cell + cell / 2 + 4:.0f}" text-anchor="end">{escape(labels[i][:12])}</text>'
        )
        for j, count in enumerate(row):
            share = count / total
            shade = round(255 - 175 * share)
            ink = "#fff" if share > 0.6 else "#1d2330"
            x, y = left + j * cell, top + i * cell
            parts.append(
                f'<rect x="{x:.0f}" y="{y:.0f}" width="{cell:.0f}" height="{cell:.0f}" fill="rgb({shade},{shade + 20 if shade < 235 else 255},255)" stroke="#fff"/>'
            )
            parts.append(
                f'<text x="{x + cell / 2:.0f}" y="{y + cell / 2 + 4:.0f}" text-anchor="middle" fill="{ink}">{count}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

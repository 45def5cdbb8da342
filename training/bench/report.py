"""docs/RESULTS.md from benchmark result files, with an SVG plot of the step-group sweep."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from training.bench.summary import format_table

_GROUP = re.compile(r"^diffusioncls-g(\d)$")


def _seeds(result: dict) -> str:
    planned = ", ".join(map(str, result["config"]["seeds"]))
    if result.get("complete", True):
        return planned
    done = ", ".join(map(str, result.get("seeds_done", [])))
    return f"{done} (partial: the run was stopped before the rest of {planned})"


def _selection(patience: int) -> str:
    if patience == 0:
        return "every epoch trained, the last weights kept"
    return f"best validation epoch kept, stopping after {patience} without improvement"


def load_results(paths: Sequence[str | Path]) -> list[dict]:
    results = []
    for path in paths:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        body["path"] = str(path)
        results.append(body)
    return results


def sweep_points(result: dict) -> list[tuple[int, float, float, float, float]]:
    """(group, macro-F1, its std, accuracy, its std) for every step-group method of a result."""
    points = []
    for row in result["summary"]:
        match = _GROUP.match(row["method"])
        if match:
            points.append(
                (
                    int(match.group(1)),
                    row["macro_f1"],
                    row["macro_f1_std"],
                    row["accuracy"],
                    row["accuracy_std"],
                )
            )
    return sorted(points)


def sweep_svg(
    points: Sequence[tuple[int, float, float, float, float]],
    title: str,
    baseline: tuple[float, float] | None = None,
) -> str:
    """A line plot of macro-F1 and accuracy (with ±1 std bars) against the step group; `baseline`
    (macro-F1, accuracy of no augmentation) is drawn as dashed lines."""
    width, height, left, right, top, bottom = 640, 360, 64, 20, 40, 56
    values = [v for p in points for v in (p[1] - p[2], p[1] + p[2], p[3] - p[4], p[3] + p[4])]
    values += list(baseline or ())
    low, high = min(values), max(values)
    pad = max(0.005, (high - low) * 0.1)
    low, high = low - pad, high + pad

    def x(group: float) -> float:
        return left + (group - 1) / 7 * (width - left - right)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
    ]
    for g in range(1, 9):
        lo, hi = 4 * g - 3, 4 * g
        parts.append(f'<text x="{x(g)}" y="{height - bottom + 18}" text-anchor="middle">{lo}-{hi}</text>')
    parts.append(
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">step group (t of T = 32)</text>'
    )
    for i in range(5):
        value = low + (high - low) * i / 4
        parts.append(f'<text x="{left - 8}" y="{y(value) + 4}" text-anchor="end">{100 * value:.1f}</text>')
        parts.append(
            f'<line x1="{left}" y1="{y(value)}" x2="{width - right}" y2="{y(value)}" stroke="#ddd"/>'
        )
    for index, (name, color) in enumerate((("macro-F1", "#1f77b4"), ("accuracy", "#d62728"))):
        column = 1 + 2 * index
        if baseline is not None:
            level = y(baseline[index])
            parts.append(
                f'<line x1="{left}" y1="{level:.1f}" x2="{width - right}" y2="{level:.1f}" stroke="{color}" '
                'stroke-dasharray="6 4" stroke-opacity="0.7"/>'
            )
        line = " ".join(f"{x(p[0]):.1f},{y(p[column]):.1f}" for p in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
        for p in points:
            cx, mean, std = x(p[0]), p[column], p[column + 1]
            parts.append(
                f'<line x1="{cx}" y1="{y(mean - std):.1f}" x2="{cx}" y2="{y(mean + std):.1f}" stroke="{color}"/>'
            )
            parts.append(f'<circle cx="{cx}" cy="{y(mean):.1f}" r="3" fill="{color}"/>')
        parts.append(
            f'<rect x="{width - 130}" y="{top + 16 * index}" width="10" height="10" fill="{color}"/>'
        )
        parts.append(f'<text x="{width - 114}" y="{top + 9 + 16 * index}">{name} (%)</text>')
    if baseline is not None:
        parts.append(f'<text x="{width - 130}" y="{top + 41}">dashed: no augmentation</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render(results: Sequence[dict], out: str | Path, intro: str = "") -> Path:
    """Write the Markdown page (and the sweep plot beside it when a result has step groups)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Benchmark results", ""]
    if intro:
        lines += [intro.strip(), ""]
    for result in results:
        config = result["config"]
        lines.append(f"## {Path(config['data_dir']).name}, setting `{config['setting']}`")
        lines.append("")
        lines.append(
            f"Base model `{config['base']}`; seeds {_seeds(result)}; evaluated on "
            f"`{config['test_split']}.csv`{' (first ' + str(config['max_test']) + ' rows)' if config.get('max_test') else ''}; "
            f"classifier {config['classifier']['epochs']} epochs "
            f"({_selection(config['classifier'].get('patience', 2))}), "
            f"n = {config['n']} pseudo samples per original; total {result['seconds'] / 60:.0f} min on this CPU."
        )
        if result.get("command"):
            lines += ["", "```bash", result["command"], "```"]
        lines += ["", format_table(result["summary"]), ""]
        points = sweep_points(result)
        if len(points) >= 2:
            name = Path(result["path"]).stem + "-sweep.svg"
            none = next((row for row in result["summary"] if row["method"] == "none"), None)
            baseline = (none["macro_f1"], none["accuracy"]) if none else None
            (out.parent / name).write_text(
                sweep_svg(points, f"{Path(config['data_dir']).name}: step-group sweep", baseline)
            )
            lines += [f"![step-group sweep]({name})", ""]
    out.write_text("\n".join(lines))
    return out

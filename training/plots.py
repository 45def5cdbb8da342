"""Pictures for people, drawn with matplotlib and saved as PNG: a checkpoint's training curves, a
confusion matrix, the bench's step-group sweep and a memory soak.

Each picture is a pure function from numbers to a `matplotlib.figure.Figure` (tests read the figure's
lines and labels), and `save_png` writes it. pyplot is never imported, so a notebook's backend and
the process's global state stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

# Per checkpoint component: the series worth a line, and how each is named in the legend.
CURVE_SERIES = {
    "proxy": (("train_loss", "train loss"), ("val_macro_f1", "val macro-F1")),
    "generator": (("train_loss", "train loss"), ("val_loss", "val loss")),
    "classifier": (("train_loss", "train loss"), ("val_macro_f1", "val macro-F1")),
}
_COLOURS = ("#2f6fdb", "#d9480f")


def save_png(figure: Figure, path: str | Path, dpi: int = 110) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return path


def curves_figure(settings: dict[str, Any]) -> Figure | None:
    """One panel per trained component: its training loss (left axis) and its validation score or
    loss (right axis: the two differ in scale) per epoch; None when no component has a history."""
    panels = [(n, settings[n]["history"]) for n in CURVE_SERIES if (settings.get(n) or {}).get("history")]
    if not panels:
        return None
    figure = Figure(figsize=(4.2 * len(panels), 3.2), layout="constrained")
    for axes, (name, history) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        axes.set_title(name, fontweight="bold")
        axes.set_xlabel("epoch")
        handles = []
        for k, (key, label) in enumerate(CURVE_SERIES[name]):
            points = [(row["epoch"], row[key]) for row in history if isinstance(row.get(key), int | float)]
            if not points:
                continue
            target = axes if k == 0 else axes.twinx()
            epochs, values = zip(*points, strict=True)
            (line,) = target.plot(
                epochs,
                values,
                marker="o",
                color=_COLOURS[k],
                label=f"{label}: {values[0]:.3f} → {values[-1]:.3f}",
            )
            target.set_ylabel(label, color=_COLOURS[k])
            handles.append(line)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.legend(
            handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8, frameon=False
        )
    return figure


def confusion_figure(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str = "") -> Figure:
    """A confusion matrix as a heat map: rows gold, columns predicted, each cell shaded by its share of
    the row (the recall of each class on the diagonal) and labelled with its count."""
    n = len(labels)
    shares = [[count / (sum(row) or 1) for count in row] for row in matrix]
    figure = Figure(figsize=(1.1 + 0.75 * n, 0.9 + 0.7 * n), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ink = "white" if shares[i][j] > 0.6 else "#1d2330"
            axes.text(j, i, str(count), ha="center", va="center", color=ink)
    axes.set_xticks(range(n), [name[:12] for name in labels], rotation=30, ha="right")
    axes.set_yticks(range(n), [name[:12] for name in labels])
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    if title:
        axes.set_title(title, fontsize=10)
    return figure


def sweep_figure(
    points: Sequence[tuple[int, float, float, float, float]],
    title: str,
    baseline: tuple[float, float] | None = None,
    *,
    total_steps: int = 32,
    groups: int = 8,
) -> Figure:
    """Macro-F1 and accuracy (%, with ±1 std bars) against the step group; `baseline` (macro-F1 and
    accuracy of no augmentation) as dashed lines. points: (group, F1, F1 std, accuracy, its std)."""
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    axes = figure.add_subplot()
    per_group = total_steps // groups
    for index, (name, colour) in enumerate((("macro-F1", "#1f77b4"), ("accuracy", "#d62728"))):
        column = 1 + 2 * index
        axes.errorbar(
            [p[0] for p in points],
            [100 * p[column] for p in points],
            yerr=[100 * p[column + 1] for p in points],
            marker="o",
            capsize=3,
            color=colour,
            label=f"{name} (%)",
        )
        if baseline is not None:
            axes.axhline(100 * baseline[index], color=colour, linestyle="--", alpha=0.7)
    if baseline is not None:
        axes.plot([], [], color="grey", linestyle="--", label="dashed: no augmentation")
    axes.set_xticks(
        range(1, groups + 1),
        [f"{per_group * g - per_group + 1}-{per_group * g}" for g in range(1, groups + 1)],
    )
    axes.set_xlabel(f"step group (t of T = {total_steps})")
    axes.set_title(title)
    axes.grid(axis="y", color="#dddddd")
    axes.legend(fontsize=8)
    return figure


def soak_figure(
    samples: Sequence[tuple[float, float]], title: str, jobs: Sequence[tuple[float, int]] = ()
) -> Figure:
    """Resident memory (MiB) over time (s); `jobs` (time, jobs finished) on a second axis."""
    figure = Figure(figsize=(6.4, 3.4), layout="constrained")
    axes = figure.add_subplot()
    if samples:
        times, rss = zip(*samples, strict=True)
        axes.plot(times, rss, color="#2f6fdb", label="worker RSS (MiB)")
    axes.set_xlabel("seconds")
    axes.set_ylabel("RSS (MiB)", color="#2f6fdb")
    if jobs:
        twin = axes.twinx()
        done_at, done = zip(*jobs, strict=True)
        twin.plot(done_at, done, color="#d9480f", label="jobs finished")
        twin.set_ylabel("jobs finished", color="#d9480f")
    axes.set_title(title)
    axes.grid(color="#eeeeee")
    return figure

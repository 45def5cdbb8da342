"""docs/RESULTS.md from benchmark result files, with an SVG plot of the step-group sweep."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from training.bench.splits import test_split_name
from training.bench.summary import format_examples, format_generations, format_table

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
            f"{test_split_name(config['test_split'])}{' (first ' + str(config['max_test']) + ' rows)' if config.get('max_test') else ''}; "
            f"classifier {config['classifier']['epochs']} epochs "
            f"({_selection(config['classifier'].get('patience', 2))}), "
            f"n = {config['n']} pseudo samples per original; total {result['seconds'] / 60:.0f} min on this CPU."
        )
        if result.get("command"):
            # a result of `bench merge` has its parts' commands (themselves lists when merged again)
            lines += ["", "```bash", *_commands(result["command"]), "```"]
        lines += ["", format_table(result["summary"]), ""]
        for part in (format_generations(result["runs"]), format_examples(result["runs"])):
            if part:
                lines += [part, ""]
        points = sweep_points(result)
        if len(points) >= 2:
            from training.plots import save_png, sweep_figure

            name = Path(result["path"]).stem + "-sweep.png"
            none = next((row for row in result["summary"] if row["method"] == "none"), None)
            baseline = (none["macro_f1"], none["accuracy"]) if none else None
            title = f"{Path(config['data_dir']).name}: step-group sweep"
            save_png(sweep_figure(points, title, baseline), out.parent / name)
            lines += [f"![step-group sweep]({name})", ""]
    out.write_text("\n".join(lines))
    return out


def _commands(command) -> list[str]:
    """The command lines of a result: one string, or the nested lists of merged results."""
    if isinstance(command, str):
        return [command]
    return [line for part in command if part for line in _commands(part)]

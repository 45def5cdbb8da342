"""What a checkpoint folder says about itself to a person: README.md (a model card), written by `fit`
from the settings JSON alone, beside training-curves.png (training.plots.curves_figure).
"""

from __future__ import annotations

from typing import Any

from training.defaults import EVERY_ROUND_GUIDED, NO_PRIOR_CORRECTION, NO_REPETITION_PENALTY
from training.sampler import DecodeConfig

CURVES_FILE = "training-curves.png"
CARD_FILE = "README.md"
_COMPONENTS = ("proxy", "generator", "classifier")


def _histories(settings: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(component, history) of each component that has one."""
    return [(n, settings[n]["history"]) for n in _COMPONENTS if (settings.get(n) or {}).get("history")]


def has_curves(settings: dict[str, Any]) -> bool:
    """Whether any component has a training history to draw (write_checkpoint draws exactly then)."""
    return bool(_histories(settings))


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
        f"{sampler.get('temperature')}, top-p {sampler.get('top_p')}, "
        f"{_guidance(sampler)}, "
        f"repetition penalty {sampler.get('repetition_penalty', NO_REPETITION_PENALTY)}, "
        f"prior correction {sampler.get('prior_correction', NO_PRIOR_CORRECTION)}, "
        f"{_label_filter(sampler)}",
        *_classifier_choice(settings.get("classifier") or {}),
        *_calibration(settings.get("classifier") or settings.get("proxy") or {}),
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
    if has_curves(settings):  # write_checkpoint draws the curves exactly then
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


def _classifier_choice(classifier: dict[str, Any]) -> list[str]:
    """The card's line on how the classifier was trained where fit chose it on validation (none
    otherwise)."""
    choice = classifier.get("classifier_choice")
    if not choice:
        return []
    scores = "; ".join(f"{c['name']} {c['val_macro_f1']:.4f}" for c in choice["candidates"])
    return [
        f"- Classifier, chosen on validation macro-F1 ({scores}): {choice['candidates'][choice['kept']]['name']}"
    ]


def _calibration(judge: dict[str, Any]) -> list[str]:
    """The card's line on the temperature the judge's probabilities are divided by (none for
    checkpoints written before fit calibrated them)."""
    cal = judge.get("calibration")
    if not cal:
        return []
    return [
        f"- Probabilities (/classify, `label_prob`): logits divided by {cal['temperature']:.2f}, fitted on "
        f"validation (NLL {cal['nll'][0]:.3f} -> {cal['nll'][1]:.3f}, ECE {cal['ece'][0]:.3f} -> {cal['ece'][1]:.3f})"
    ]


def _guidance(sampler: dict[str, Any]) -> str:
    """The guidance a checkpoint decodes with, read as loading it reads it (a missing knob takes the
    loader's value) and judged by DecodeConfig.guided: scale 1 is none at all, whatever the rounds say."""
    decode = DecodeConfig(
        guidance_scale=sampler.get("guidance_scale", DecodeConfig.guidance_scale),
        guided_rounds=sampler.get("guided_rounds", EVERY_ROUND_GUIDED),
    )
    if not decode.guided:
        return "no guidance"
    rounds = "every round" if decode.guided_rounds == 0 else f"the first {decode.guided_rounds} rounds"
    return f"guidance {decode.guidance_scale} ({rounds})"


def _label_filter(sampler: dict[str, Any]) -> str:
    """The label filter `augment` applies by default (a checkpoint without the field has none)."""
    threshold = sampler.get("min_label_prob", 0.0)
    if not threshold:
        return "no label filter"
    return f"outputs the classifier gives their label under {threshold:g} replaced by fresh rewrites"

"""The Python API: augment and classify with a fitted checkpoint in three lines.

    from training import Augmenter, Classifier
    aug = Augmenter.from_pretrained("checkpoints/sample")
    result = aug.augment(["We spent the afternoon at the beach."], ["joy"], n=4)
    for out in result.outputs:
        print(out.label, out.label_prob, out.text)
    Classifier.from_pretrained("checkpoints/sample").predict(["What a lovely day"])

Everything returned is a plain frozen dataclass. Outputs carry the intended label, the classifier's
probability of it (`label_prob`), its predicted label, and the provenance of the rewrite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from training.augmenters.base import AugmentResult
from training.defaults import PSEUDO_PER_ORIGINAL


@dataclass(frozen=True)
class AugmentedText:
    text: str
    label: str
    source_index: int  # index of the original in the input lists
    label_prob: float | None  # the classifier's probability of `label` for `text`
    predicted_label: str | None
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Shortfall:
    source_index: int
    requested: int
    produced: int
    reason: str


@dataclass(frozen=True)
class AugmentOutput:
    outputs: list[AugmentedText]
    shortfalls: list[Shortfall]
    stats: dict[str, Any]


@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: dict[str, float]


class Classifier:
    """The checkpoint's task classifier (or its proxy when it has none)."""

    def __init__(self, runner):
        self.runner = runner

    @classmethod
    def from_pretrained(cls, checkpoint: str | Path, device: str = "auto") -> Classifier:
        from training.checkpoint import load_checkpoint
        from training.common import quiet_transformers, resolve_device

        quiet_transformers()
        loaded = load_checkpoint(checkpoint, resolve_device(device), components=("classifier", "proxy"))
        return cls(loaded.judge_runner()[0])

    @property
    def labels(self) -> list[str]:
        return list(self.runner.label_names)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        probs = self.runner.predict_proba(list(texts))
        names = self.runner.label_names
        return [
            Prediction(
                names[int(row.argmax())], {n: round(float(p), 6) for n, p in zip(names, row, strict=True)}
            )
            for row in probs
        ]


class Augmenter:
    """DiffusionCLS rewrites (and the classic methods) with a fitted checkpoint's models."""

    def __init__(self, checkpoint, diffusion, classifier: Classifier | None):
        self.checkpoint = checkpoint
        self.diffusion = diffusion
        self.classifier = classifier

    @classmethod
    def from_pretrained(cls, checkpoint: str | Path, device: str = "auto") -> Augmenter:
        from training.augmenters.diffusion import DiffusionAugmenter
        from training.checkpoint import load_checkpoint
        from training.common import quiet_transformers, resolve_device

        quiet_transformers()
        loaded = load_checkpoint(checkpoint, resolve_device(device))
        diffusion = DiffusionAugmenter.from_checkpoint(loaded)
        return cls(loaded, diffusion, Classifier(diffusion.scorer) if diffusion.scorer is not None else None)

    @property
    def labels(self) -> list[str]:
        return self.diffusion.labels

    def augment(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        n: int = PSEUDO_PER_ORIGINAL,
        *,
        method: str = "diffusioncls",
        seed: int = 0,
        steps: tuple[int, int] | None = None,
        rounds: int | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        guidance_scale: float | None = None,
        guided_rounds: int | None = None,
        repetition_penalty: float | None = None,
        prior_correction: float | None = None,
        min_label_prob: float | None = None,
        params: dict[str, Any] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> AugmentOutput:
        """`n` new texts per (text, label); decoding settings left out take the checkpoint's defaults.

        `method` is any of `training.augmenters.registry.METHODS` (`params` are a classic method's options).
        """
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        counts = [n] * len(texts)
        if method == "diffusioncls":
            options = self._options(
                steps=steps,
                rounds=rounds,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                guidance_scale=guidance_scale,
                guided_rounds=guided_rounds,
                repetition_penalty=repetition_penalty,
                prior_correction=prior_correction,
                min_label_prob=min_label_prob,
            )
            result = self.diffusion.augment(
                list(texts), list(labels), counts, seed=seed, progress=progress, options=options
            )
        else:
            result = self._classic(method, params or {}).augment(
                list(texts), list(labels), counts, seed=seed, progress=progress
            )
            if self.diffusion.scorer is not None and result.augmentations:
                from training.augmenters.diffusion import score_augmentations

                score_augmentations(self.diffusion.scorer, result.augmentations)
        return _typed(result)

    def _options(self, *, steps, min_label_prob, **knobs):
        """Diffusion options: the given steps and decoding knobs (DECODING_KNOBS) over the checkpoint's."""
        from training.augmenters.diffusion import DiffusionOptions

        given = {"steps": steps, **knobs}
        settings = replace(
            self.checkpoint.settings.sampler, **{k: v for k, v in given.items() if v is not None}
        )
        if min_label_prob is None:
            min_label_prob = settings.min_label_prob
        return DiffusionOptions.from_settings(settings, min_label_prob=min_label_prob)

    def _classic(self, method: str, params: dict[str, Any]):
        from training.augmenters.registry import Resources, build_augmenter

        resources = Resources(
            device=str(self.diffusion.device),
            mlm_model=self.checkpoint.generator,
            mlm_codec=self.diffusion.codec,
        )
        return build_augmenter(method, params, resources)


def _typed(result: AugmentResult) -> AugmentOutput:
    outputs = []
    for a in result.augmentations:
        provenance = dict(a.provenance)
        prob = provenance.pop("label_prob", None)
        outputs.append(
            AugmentedText(
                text=a.text,
                label=a.label,
                source_index=a.source_index,
                label_prob=None
                if prob is None or (isinstance(prob, float) and math.isnan(prob))
                else float(prob),
                predicted_label=provenance.pop("predicted_label", None),
                provenance=provenance,
            )
        )
    shortfalls = [
        Shortfall(source_index=s.source_index, requested=s.requested, produced=s.produced, reason=s.reason)
        for s in result.shortfalls
    ]
    return AugmentOutput(outputs, shortfalls, dict(result.stats))

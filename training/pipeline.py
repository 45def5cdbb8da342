"""End-to-end training: `fit` (labelled data -> proxy -> generator -> pseudo samples -> classifier ->
checkpoint). The trainers of the stages live in `training.stages` and are re-exported here; base models
are made by `training.pretrain`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from training.augmenters.base import AugmentResult
from training.augmenters.diffusion import DiffusionAugmenter, DiffusionOptions
from training.checkpoint import CheckpointSettings, SamplerDefaults, refuse_existing, write_checkpoint
from training.classifier import PLAIN, ClassifierConfig, ClassifierRunner, NoiseResistance, PseudoSource
from training.classifier.calibration import calibrate_on
from training.common import resolve_device
from training.data import LabelledData, train_val_split
from training.defaults import PSEUDO_PER_ORIGINAL
from training.generator import GeneratorConfig, ScheduleConfig
from training.policies import POLICIES, augment_balanced, each_counts
from training.stages import (
    GeneratorBundle,
    load_tokenizer,
    train_diffusion_generator,
    train_proxy,
    train_task_classifier,
    untrained_generator,
)
from training.text import TextCodec

# The stages' trainers are re-exported: the bench, the tools and the tests import them from here.
__all__ = [
    "GeneratorBundle",
    "PseudoPlan",
    "diffusion_pseudo_source",
    "fit",
    "load_tokenizer",
    "pseudo_source",
    "train_diffusion_generator",
    "train_proxy",
    "train_task_classifier",
    "untrained_generator",
]


@dataclass(frozen=True)
class PseudoPlan:
    """How the task classifier's pseudo samples are made (ALGORITHM 5-6)."""

    enabled: bool = True  # False: the "w/o D.A." ablation (no generator samples at all)
    policy: str = "ge"  # ge: n per original; bd: top up minority classes to the largest
    n: int = PSEUDO_PER_ORIGINAL
    regenerate_every: int = 1  # epochs between regenerations; 0 = generate once
    reflective: bool = True  # after epoch 1, importance from the classifier being trained
    options: DiffusionOptions = DiffusionOptions(score=False)
    # Beyond the paper: drop pseudo samples to which the judge (the model that gave the importance
    # weights) gives the intended label less than this probability; 0 keeps everything.
    min_label_prob: float = 0.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        if self.n < 0 or self.regenerate_every < 0:
            raise ValueError("n and regenerate_every must be >= 0")
        if not 0.0 <= self.min_label_prob < 1.0:
            raise ValueError("min_label_prob must be in [0, 1)")

    def to_dict(self) -> dict:
        body = asdict(self)
        body["options"]["steps"] = list(self.options.steps)
        return body


def pseudo_source(
    generator,
    codec: TextCodec,
    *,
    label_ids: dict[str, int],
    null_id: int,
    schedule: ScheduleConfig,
    max_length: int,
    proxy: ClassifierRunner,
    train: LabelledData,
    plan: PseudoPlan,
    seed: int,
    prior_shift: torch.Tensor | None = None,
    generations: list[dict] | None = None,
) -> PseudoSource:
    """Pseudo samples for classifier training, regenerated on request.

    Epoch 1 masks with the proxy's importance (the classifier is still untrained); later epochs use
    the classifier being trained when `plan.reflective` (the paper's reflective generation).
    `generations`, when given, gets one `generation_counts` record per generation.
    """

    def make(epoch: int, classifier: ClassifierRunner) -> list[list[str]]:
        judge = classifier if plan.reflective and epoch > 1 else proxy
        filtering = plan.min_label_prob > 0
        scoring = filtering or plan.options.min_label_prob > 0  # the latter: the augmenter's top-up
        augmenter = DiffusionAugmenter(
            generator,
            codec,
            label_ids,
            null_label_id=null_id,
            schedule=schedule,
            max_length=max_length,
            importance_source=judge,
            scorer=judge if scoring else None,
            prior_shift=prior_shift,
        )
        round_seed = seed + 1_000 * epoch
        method = augmenter.configured(replace(plan.options, score=scoring))
        if plan.policy == "bd":
            result = augment_balanced(method, train.texts, train.labels, seed=round_seed)
        else:
            result = method.augment(
                train.texts, train.labels, each_counts(len(train), plan.n), seed=round_seed
            )
        groups: list[list[str]] = [[] for _ in train.texts]
        for a in result.augmentations:
            if not filtering or a.provenance["label_prob"] >= plan.min_label_prob:
                groups[a.source_index].append(a.text)
        if generations is not None:
            generations.append({"epoch": epoch, **generation_counts(result, groups)})
        return groups

    return make


def generation_counts(result: AugmentResult, groups: list[list[str]]) -> dict[str, int]:
    """What one generation of pseudo samples came to: the outputs `requested` of the augmenter, the
    chains it `decoded` for them (more than requested when its top-up replaced outputs under its
    `min_label_prob`, or when a rewrite repeated one), the outputs it `returned`, how many of those
    came back `flagged` because no attempt reached that bar, and how many the drop filter `kept`."""
    return {
        "requested": int(result.stats.get("requested", 0)),
        "decoded": int(result.stats.get("chains_decoded", 0)),
        "returned": len(result.augmentations),
        "flagged": sum(bool(a.provenance.get("below_min_label_prob")) for a in result.augmentations),
        "kept": sum(len(group) for group in groups),
    }


def diffusion_pseudo_source(
    bundle: GeneratorBundle,
    codec: TextCodec,
    *,
    schedule: ScheduleConfig,
    max_length: int,
    proxy: ClassifierRunner,
    train: LabelledData,
    plan: PseudoPlan,
    seed: int,
    prior_shift: torch.Tensor | None,
    generations: list[dict] | None = None,
) -> PseudoSource:
    """pseudo_source of a generator bundle; `prior_shift` is its `bundle.prior_shift()`, measured once
    by the caller (fit also writes it into the checkpoint)."""
    return pseudo_source(
        bundle.model,
        codec,
        label_ids=bundle.prompt_ids,
        null_id=bundle.null_id,
        schedule=schedule,
        max_length=max_length,
        proxy=proxy,
        train=train,
        plan=plan,
        seed=seed,
        prior_shift=prior_shift,
        generations=generations,
    )


def fit(
    data: LabelledData,
    base: str | Path,
    out: str | Path,
    *,
    proxy_config: ClassifierConfig = ClassifierConfig(),
    generator_config: GeneratorConfig = GeneratorConfig(),
    classifier_config: ClassifierConfig | None = ClassifierConfig(epochs=5),
    noise: NoiseResistance = NoiseResistance(),
    choose_classifier: bool = True,
    plan: PseudoPlan = PseudoPlan(),
    label_prompt: bool = True,
    schedule: ScheduleConfig = ScheduleConfig(),
    sampler: SamplerDefaults = SamplerDefaults(),
    val_fraction: float = 0.1,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Proxy -> importance weights -> diffusion generator -> pseudo samples -> classifier -> checkpoint.

    `classifier_config=None` stops after the generator. The ablations of the paper's Table 4 are
    `plan.enabled=False` (w/o D.A.), `label_prompt=False` (w/o L.A.P.: the generator never sees a
    label; it is trained and sampled with the null label) and `noise.weight=0` (w/o N.R.T.).

    With `choose_classifier` and `noise.weight` > 0, the classifier is also trained with cross-entropy
    alone on the same first pseudo samples and (when there are any) with cross-entropy on the
    originals alone; the one with the highest validation macro-F1 is kept, a tie keeping the paper's
    loss (`classifier_candidates` says why). The generator is in the checkpoint whichever is kept.
    The kept classifier's and the proxy's probabilities are calibrated on validation (a temperature).
    """
    refuse_existing(out, overwrite=overwrite)
    started = time.perf_counter()
    run = _FitRun.start(
        data, base, schedule, val_fraction=val_fraction, seed=seed, device=device, progress=progress
    )
    proxy = _proxy_stage(run, proxy_config)
    bundle = _generator_stage(run, proxy, config=generator_config, label_prompt=label_prompt)
    prior_shift = bundle.prior_shift()
    if classifier_config is not None:
        pseudo = _pseudo_samples(
            run, bundle, proxy, plan=plan, max_length=generator_config.max_length, prior_shift=prior_shift
        )
        candidates = classifier_candidates(noise, choose=choose_classifier, augmenting=pseudo is not None)
        _classifier_stage(run, pseudo, config=classifier_config, candidates=candidates, plan=plan)
    settings = _checkpoint_settings(run, sampler, generator_config.max_length)
    write_checkpoint(
        out,
        settings,
        run.codec.tokenizer,
        models=run.models,
        generator_tokenizer=bundle.tokenizer,
        prior_shift=prior_shift,
        overwrite=overwrite,
    )
    run.timings["total"] = time.perf_counter() - started
    return {
        "checkpoint": str(out),
        "labels": run.labels,
        "train": len(run.train),
        "validation": len(run.val),
        "proxy": run.reports["proxy"],
        "generator": run.reports["generator"],
        "classifier": run.reports.get("classifier"),
        "seconds": {k: round(v, 1) for k, v in run.timings.items()},
    }


@dataclass
class _FitRun:
    """One `fit` call: what its stages share (data split, base model, codec, device), and what each
    stage has made so far."""

    labels: list[str]
    train: LabelledData
    val: LabelledData
    base: str | Path
    codec: TextCodec  # of the base tokenizer (`codec.tokenizer`), which the checkpoint saves as well
    schedule: ScheduleConfig
    seed: int
    device: torch.device
    progress: bool
    data_summary: dict[str, Any]  # what the checkpoint records of the data
    models: dict[str, Any] = field(default_factory=dict)  # checkpoint component -> trained model
    reports: dict[str, dict] = field(default_factory=dict)  # stage -> its training report
    sections: dict[str, dict] = field(default_factory=dict)  # stage -> the checkpoint settings' record of it
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds

    @classmethod
    def start(
        cls,
        data: LabelledData,
        base: str | Path,
        schedule: ScheduleConfig,
        *,
        val_fraction: float,
        seed: int,
        device: str,
        progress: bool,
    ) -> _FitRun:
        """The validation split, the base tokenizer's codec and the device of a fit."""
        dev = resolve_device(device)
        train, val = train_val_split(data, val_fraction, seed)
        codec = TextCodec(load_tokenizer(base))
        return cls(
            labels=data.label_names,
            train=train,
            val=val,
            base=base,
            codec=codec,
            schedule=schedule,
            seed=seed,
            device=dev,
            progress=progress,
            data_summary=_data_summary(data, train, val, val_fraction=val_fraction, seed=seed),
        )

    def record(self, stage: str, model: Any, *, report: dict, section: dict) -> None:
        """Keep what a stage made: its model and its section of the checkpoint settings (for the
        checkpoint), its training report (for fit's result)."""
        self.models[stage] = model
        self.reports[stage] = report
        self.sections[stage] = section


def _proxy_stage(run: _FitRun, config: ClassifierConfig) -> ClassifierRunner:
    """The proxy classifier, whose importance weights the generator is trained with."""
    with _timed(run.timings, "proxy"):
        proxy, report = train_proxy(
            run.base,
            run.codec,
            train=run.train,
            val=run.val,
            config=config,
            seed=run.seed,
            device=run.device,
            progress=run.progress,
        )
    section = {"config": config.to_dict(), **report, "calibration": calibrate_on(proxy, run.val)}
    run.record("proxy", proxy.model, report=report, section=section)
    # From here on the proxy's probabilities are calibrated, so that the pseudo-sample filter
    # (`PseudoPlan.min_label_prob`) reads the scale of the label_prob that `augment` and the API filter
    # on: one meaning for "the classifier gives the label >= 0.5" (the importance weights are attention,
    # which the temperature does not touch). On 300 emotion tweets (six labels) it kept 2.4% fewer pseudo
    # samples than the uncalibrated scale, for macro-F1 −0.08 [−0.58, +0.30] (docs/RESULTS.md).
    proxy.temperature = section["calibration"]["temperature"]
    return proxy


def _generator_stage(
    run: _FitRun, proxy: ClassifierRunner, *, config: GeneratorConfig, label_prompt: bool
) -> GeneratorBundle:
    """The diffusion generator, fine-tuned from the base MLM with the proxy's importance weights."""
    with _timed(run.timings, "generator"):
        bundle = train_diffusion_generator(
            run.base,
            run.codec,
            run.labels,
            train=run.train,
            val=run.val,
            importance_source=proxy,
            config=config,
            schedule=run.schedule,
            seed=run.seed,
            device=run.device,
            label_prompt=label_prompt,
            progress=run.progress,
        )
    section = {
        "config": config.to_dict(),
        "head_created": bundle.head_created,
        "label_prompt": label_prompt,
        **bundle.report,
    }
    run.record("generator", bundle.model, report=bundle.report, section=section)
    return bundle


def _pseudo_samples(
    run: _FitRun,
    bundle: GeneratorBundle,
    proxy: ClassifierRunner,
    *,
    plan: PseudoPlan,
    max_length: int,
    prior_shift: torch.Tensor | None,
) -> PseudoSource | None:
    """The generator's pseudo samples for the task classifier; None for the w/o D.A. ablation."""
    if not plan.enabled:
        return None
    return diffusion_pseudo_source(
        bundle,
        run.codec,
        schedule=run.schedule,
        max_length=max_length,
        proxy=proxy,
        train=run.train,
        plan=plan,
        seed=run.seed,
        prior_shift=prior_shift,
    )


def _classifier_stage(
    run: _FitRun,
    pseudo: PseudoSource | None,
    *,
    config: ClassifierConfig,
    candidates: Sequence[ClassifierCandidate],
    plan: PseudoPlan,
) -> None:
    """The task classifier, trained as each of the `candidates` says (on the originals plus
    `pseudo`, regenerated as `plan` says, or on the originals alone); the one with the best validation
    macro-F1 is kept."""

    def train_one(candidate: ClassifierCandidate, source: PseudoSource | None):
        return train_task_classifier(
            run.base,
            run.codec,
            train=run.train,
            val=run.val,
            config=config,
            seed=run.seed,
            device=run.device,
            noise=candidate.noise,
            pseudo=source,
            regenerate_every=plan.regenerate_every,
            progress=run.progress,
            desc=f"classifier ({candidate.name})" if len(candidates) > 1 else "classifier",
        )

    with _timed(run.timings, "classifier"):
        model, report, kept = train_choosing_classifier(train_one, candidates, pseudo)
    section = {
        "config": config.to_dict(),
        "noise_resistance": kept.noise.to_dict(),
        "pseudo_samples": plan.to_dict(),
        "trained_on_pseudo_samples": pseudo is not None and kept.pseudo_samples,
        **report,
        "calibration": calibrate_on(ClassifierRunner(model, run.codec, config.max_length), run.val),
    }
    report = {**report, "calibration": section["calibration"]}
    run.record("classifier", model, report=report, section=section)


@dataclass(frozen=True)
class ClassifierCandidate:
    """One way of training the task classifier, of those `fit` chooses between on validation: a loss,
    and whether the generator's pseudo samples join the originals."""

    noise: NoiseResistance
    pseudo_samples: bool = True  # False: the originals alone (plain fine-tuning when noise is PLAIN)

    @property
    def name(self) -> str:
        """How progress lines, `fit`'s report and model cards name this candidate."""
        data = "pseudo samples + originals" if self.pseudo_samples else "originals only"
        return f"{data}, {self.noise.name}"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "contrastive_weight": self.noise.weight,
            "pseudo_samples": self.pseudo_samples,
        }


def classifier_candidates(
    noise: NoiseResistance, *, choose: bool, augmenting: bool
) -> list[ClassifierCandidate]:
    """How the task classifier is trained: with `noise` on the pseudo samples; with `choose` (when
    `noise` has Lc at all) also with cross-entropy alone on the same pseudo samples and, when
    `augmenting`, with cross-entropy on the originals alone, to be chosen between on validation.

    Why three: Lc helped on some benchmarks and cost up to 15 points on others; and on a few hundred
    texts, trained to the quick budget's 250 steps, plain fine-tuning beat the paper's method on three
    of four sets (by 2.6 to 9.1 macro-F1 points) while it led on the shipped sample (docs/RESULTS.md).
    Read off those runs, the three-way choice served 2.7 points more than the two-way one on average."""
    if not (choose and noise.weight > 0):
        return [ClassifierCandidate(noise)]
    candidates = [ClassifierCandidate(noise), ClassifierCandidate(PLAIN)]
    if augmenting:
        candidates.append(ClassifierCandidate(PLAIN, pseudo_samples=False))
    return candidates


def train_choosing_classifier(
    train_one: Callable[[ClassifierCandidate, PseudoSource | None], tuple[Any, dict]],
    candidates: Sequence[ClassifierCandidate],
    pseudo: PseudoSource | None,
) -> tuple[Any, dict, ClassifierCandidate]:
    """`train_one(candidate, source)` for each candidate, `source` being `pseudo` (its first samples
    shared between the candidates that take them) or None for a candidate on the originals alone; the
    (model, report) with the best validation macro-F1 and its candidate. With more than one candidate
    the report says what was compared (`classifier_choice`)."""
    takers = sum(c.pseudo_samples for c in candidates)
    shared = first_epoch_shared(pseudo) if pseudo is not None and takers > 1 else pseudo
    trained = [train_one(c, shared if c.pseudo_samples else None) for c in candidates]
    scores = [report["best_val_macro_f1"] for _, report in trained]
    kept = pick_on_validation(scores)
    model, report = trained[kept]
    if len(candidates) > 1:
        report = {
            **report,
            "classifier_choice": {
                "candidates": [
                    {**c.to_dict(), "val_macro_f1": f1} for c, f1 in zip(candidates, scores, strict=True)
                ],
                "kept": kept,  # index into candidates
            },
        }
    return model, report, candidates[kept]


def pick_on_validation(scores: Sequence[float]) -> int:
    """The index of the best validation score; on a tie the first (the paper's loss comes first)."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def first_epoch_shared(pseudo: PseudoSource) -> PseudoSource:
    """`pseudo` with its epoch-1 samples made once and handed to every classifier trained from it.
    Epoch 1 masks with the proxy's importance, not the classifier's, so the samples would be the
    same; later epochs depend on the classifier being trained and are made afresh."""
    first: list[list[list[str]]] = []

    def make(epoch: int, classifier: ClassifierRunner) -> list[list[str]]:
        if epoch != 1:
            return pseudo(epoch, classifier)
        if not first:
            first.append(pseudo(epoch, classifier))
        return first[0]

    return make


def _checkpoint_settings(run: _FitRun, sampler: SamplerDefaults, max_length: int) -> CheckpointSettings:
    """The checkpoint's settings: the sampler defaults and the generator's prompt length, with what the
    fit recorded of its data and of each stage."""
    return CheckpointSettings(
        labels=run.labels,
        base_model=str(run.base),
        schedule=run.schedule,
        sampler=sampler,
        max_length=max_length,
        generator=run.sections["generator"],
        proxy=run.sections["proxy"],
        classifier=run.sections.get("classifier", {}),  # none without a task classifier
        data=run.data_summary,
    )


def _data_summary(
    data: LabelledData, train: LabelledData, val: LabelledData, *, val_fraction: float, seed: int
) -> dict[str, Any]:
    """What the checkpoint records of the data it was fitted on."""
    return {
        "source": data.source,
        "train": len(train),
        "validation": len(val),
        "label_counts": data.counts(),
        "val_fraction": val_fraction,
        "seed": seed,
    }


@contextlib.contextmanager
def _timed(timings: dict[str, float], stage: str):
    """Adds the seconds the block took to `timings[stage]`."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = time.perf_counter() - t0

"""End-to-end training: `fit` (labelled data -> proxy -> generator -> pseudo samples -> classifier ->
checkpoint). Base models are made by `training.pretrain`."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from training.augmenters.diffusion import DiffusionAugmenter, DiffusionOptions
from training.checkpoint import CheckpointSettings, SamplerDefaults, write_checkpoint
from training.classifier import (
    ClassifierConfig,
    ClassifierRunner,
    NoiseResistance,
    PseudoSource,
    TrainingOptions,
    load_classifier,
    train_classifier,
)
from training.common import pretrained_kwargs, resolve_device
from training.data import LabelledData, train_val_split
from training.defaults import PSEUDO_PER_ORIGINAL
from training.generator import (
    NULL_LABEL_TOKEN,
    DiffusionExample,
    GeneratorConfig,
    ScheduleConfig,
    add_label_tokens,
    label_token,
    load_base_mlm,
    train_generator,
)
from training.policies import POLICIES, augment_balanced, each_counts
from training.text import TextCodec, ensure_special_tokens

log = logging.getLogger(__name__)


def load_tokenizer(name_or_path: str | Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), **pretrained_kwargs(name_or_path))
    ensure_special_tokens(tokenizer)
    return tokenizer


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
) -> PseudoSource:
    """Pseudo samples for classifier training, regenerated on request.

    Epoch 1 masks with the proxy's importance (the classifier is still untrained); later epochs use
    the classifier being trained when `plan.reflective` (the paper's reflective generation).
    """

    def make(epoch: int, classifier: ClassifierRunner) -> list[list[str]]:
        judge = classifier if plan.reflective and epoch > 1 else proxy
        filtering = plan.min_label_prob > 0
        augmenter = DiffusionAugmenter(
            generator,
            codec,
            label_ids,
            null_id,
            schedule,
            max_length,
            judge,
            scorer=judge if filtering else None,
        )
        round_seed = seed + 1_000 * epoch
        method = augmenter.configured(replace(plan.options, score=filtering))
        if plan.policy == "bd":
            result = augment_balanced(method, train.texts, train.labels, round_seed)
        else:
            result = method.augment(train.texts, train.labels, each_counts(len(train), plan.n), round_seed)
        groups: list[list[str]] = [[] for _ in train.texts]
        for a in result.augmentations:
            if not filtering or a.provenance["label_prob"] >= plan.min_label_prob:
                groups[a.source_index].append(a.text)
        return groups

    return make


@dataclass
class GeneratorBundle:
    """A trained generator and what sampling it needs."""

    model: Any
    tokenizer: Any  # the base tokenizer plus the label tokens
    prompt_ids: dict[str, int]  # label -> id of the token it is prompted with (null without prompting)
    null_id: int
    label_prompt: bool
    head_created: bool
    report: dict


def train_proxy(
    base: str | Path,
    codec: TextCodec,
    train: LabelledData,
    val: LabelledData,
    *,
    config: ClassifierConfig,
    seed: int,
    device: torch.device,
    progress: bool = True,
) -> tuple[ClassifierRunner, dict]:
    model = load_classifier(base, train.label_names, device, seed)
    report = train_classifier(model, codec, train, val, config, seed, desc="proxy", progress=progress)
    return ClassifierRunner(model, codec, max_length=config.max_length), report


def untrained_generator(
    base: str | Path, labels: list[str], device: torch.device, seed: int, label_prompt: bool = True
) -> GeneratorBundle:
    """The base MLM with the label tokens added: what `train_diffusion_generator` fine-tunes (and what
    saved generator weights load into)."""
    generator, head_created = load_base_mlm(base, device, seed)
    tokenizer = load_tokenizer(base)
    token_ids = add_label_tokens(generator, tokenizer, labels)
    null_id = token_ids[NULL_LABEL_TOKEN]
    # Without label prompting every example (and later every sample) carries the null label.
    prompt_ids = {lbl: token_ids[label_token(lbl)] if label_prompt else null_id for lbl in labels}
    return GeneratorBundle(generator, tokenizer, prompt_ids, null_id, label_prompt, head_created, {})


def train_diffusion_generator(
    base: str | Path,
    codec: TextCodec,
    labels: list[str],
    train: LabelledData,
    val: LabelledData,
    *,
    importance_source: ClassifierRunner,
    config: GeneratorConfig,
    schedule: ScheduleConfig,
    seed: int,
    device: torch.device,
    label_prompt: bool = True,
    progress: bool = True,
) -> GeneratorBundle:
    """Importance weights from the proxy, label tokens, masked-diffusion fine-tuning of the base MLM."""
    bundle = untrained_generator(base, labels, device, seed, label_prompt)
    if bundle.head_created:
        log.warning(
            "%s has no MLM head: one was created and is trained on the labelled texts only; "
            "run `python -m training pretrain` on unlabelled text first for better generations",
            base,
        )

    def examples(data: LabelledData) -> list[DiffusionExample]:
        encoded = codec.encode(data.texts, config.max_content)
        weights = importance_source.importance(encoded)
        return [
            DiffusionExample(e, bundle.prompt_ids[lbl], w)
            for e, lbl, w in zip(encoded, data.labels, weights, strict=True)
            if any(e.maskable)
        ]

    bundle.report = train_generator(
        bundle.model,
        codec,
        examples(train),
        bundle.null_id,
        schedule,
        config,
        seed,
        head_is_new=bundle.head_created,
        progress=progress,
        validation=examples(val),
    )
    return bundle


def train_task_classifier(
    base: str | Path,
    codec: TextCodec,
    train: LabelledData,
    val: LabelledData,
    *,
    config: ClassifierConfig,
    seed: int,
    device: torch.device,
    noise: NoiseResistance = NoiseResistance(),
    pseudo: PseudoSource | None = None,
    regenerate_every: int = 1,
    progress: bool = True,
    options: TrainingOptions = TrainingOptions(),
):
    """The task classifier on originals plus pseudo samples from `pseudo` (None: originals only),
    with optional training-time `options` (label confusion, mixup)."""
    model = load_classifier(base, train.label_names, device, seed + 1)
    report = train_classifier(
        model,
        codec,
        train,
        val,
        config,
        seed,
        desc="classifier",
        progress=progress,
        noise=noise,
        pseudo=pseudo,
        regenerate_every=regenerate_every,
        options=options,
    )
    return model, report


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
) -> PseudoSource:
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
    )


def fit(
    data: LabelledData,
    base: str | Path,
    out: str | Path,
    proxy_config: ClassifierConfig = ClassifierConfig(),
    generator_config: GeneratorConfig = GeneratorConfig(),
    classifier_config: ClassifierConfig | None = ClassifierConfig(epochs=5),
    noise: NoiseResistance = NoiseResistance(),
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
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    train, val = train_val_split(data, val_fraction, seed)
    labels = data.label_names
    base_tokenizer = load_tokenizer(base)
    codec = TextCodec(base_tokenizer)
    timings: dict[str, float] = {}
    with _timed(timings, "proxy"):
        proxy, proxy_report = train_proxy(
            base, codec, train, val, config=proxy_config, seed=seed, device=dev, progress=progress
        )
    with _timed(timings, "generator"):
        bundle = train_diffusion_generator(
            base,
            codec,
            labels,
            train,
            val,
            importance_source=proxy,
            config=generator_config,
            schedule=schedule,
            seed=seed,
            device=dev,
            label_prompt=label_prompt,
            progress=progress,
        )
    models = {"generator": bundle.model, "proxy": proxy.model}
    classifier_settings: dict = {}
    classifier_report: dict | None = None
    if classifier_config is not None:
        with _timed(timings, "classifier"):
            source = None
            if plan.enabled:
                source = diffusion_pseudo_source(
                    bundle,
                    codec,
                    schedule=schedule,
                    max_length=generator_config.max_length,
                    proxy=proxy,
                    train=train,
                    plan=plan,
                    seed=seed,
                )
            models["classifier"], classifier_report = train_task_classifier(
                base,
                codec,
                train,
                val,
                config=classifier_config,
                seed=seed,
                device=dev,
                noise=noise,
                pseudo=source,
                regenerate_every=plan.regenerate_every,
                progress=progress,
            )
        classifier_settings = {
            "config": classifier_config.to_dict(),
            "noise_resistance": noise.to_dict(),
            "pseudo_samples": plan.to_dict(),
            **classifier_report,
        }
    settings = CheckpointSettings(
        labels=labels,
        base_model=str(base),
        schedule=schedule,
        sampler=sampler,
        max_length=generator_config.max_length,
        generator={
            "config": generator_config.to_dict(),
            "head_created": bundle.head_created,
            "label_prompt": label_prompt,
            **bundle.report,
        },
        proxy={"config": proxy_config.to_dict(), **proxy_report},
        classifier=classifier_settings,
        data=_data_summary(data, train, val, val_fraction, seed),
    )
    write_checkpoint(
        out, settings, base_tokenizer, models, generator_tokenizer=bundle.tokenizer, overwrite=overwrite
    )
    timings["total"] = time.perf_counter() - started
    return {
        "checkpoint": str(out),
        "labels": labels,
        "train": len(train),
        "validation": len(val),
        "proxy": proxy_report,
        "generator": bundle.report,
        "classifier": classifier_report,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }


def _data_summary(
    data: LabelledData, train: LabelledData, val: LabelledData, val_fraction: float, seed: int
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

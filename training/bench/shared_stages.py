"""The stages one seed of the quality bench trains once and shares between its methods: the held-out
judge, the proxy, the generators (with and without label prompting) and the `none` classifier.

With a model cache (`training.bench.cache`), each stage is loaded from it when an earlier run trained
it with the same data, seed, base and configuration, and saved there when not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from training.augmenters.registry import Resources
from training.bench.cache import ModelCache, entry_key
from training.bench.judge import held_out_rows
from training.classifier import PLAIN, ClassifierRunner, load_classifier, predict_labels
from training.data import LabelledData, train_val_split
from training.metrics import accuracy
from training.stages import (
    GeneratorBundle,
    train_diffusion_generator,
    train_proxy,
    train_task_classifier,
    untrained_generator,
)
from training.text import TextCodec

if TYPE_CHECKING:  # quality.py imports this module; the config is only named in annotations here
    from training.bench.quality import BenchConfig


@dataclass
class SeedRun:
    """What one seed shares between methods: data splits, codec, device, proxy, generators."""

    seed: int
    train: LabelledData
    val: LabelledData
    test: LabelledData
    codec: TextCodec
    device: torch.device
    progress: bool  # progress bars while training
    proxy: ClassifierRunner | None = None
    proxy_seconds: float = 0.0
    generators: dict[bool, GeneratorBundle] = field(default_factory=dict)  # by label_prompt
    generator_seconds: dict[bool, float] = field(default_factory=dict)
    reference: ClassifierRunner | None = None  # the no-augmentation classifier: judge of consistency
    judge: ClassifierRunner | None = None  # held-out judge (never saw this seed's train or val rows)
    judge_ceiling: float | None = None  # its accuracy on this seed's untouched originals
    resources: Resources = field(default_factory=Resources)  # models of the classic augmenters
    cache: ModelCache | None = None  # trained stages on disk, shared with other runs
    cache_parts: dict = field(default_factory=dict)  # what every cache key of this seed holds


def fit_judge(
    config: BenchConfig, ctx: SeedRun, *, full: LabelledData, used: LabelledData, log: Callable
) -> None:
    """The held-out judge of this seed, from train rows the seed does not use (if there are enough)."""
    rows = held_out_rows(full, used, limit=config.judge_texts, seed=ctx.seed) if config.judge_texts else None
    if rows is None:
        return
    judge_train, judge_val = train_val_split(rows, 0.1, ctx.seed)
    parts = {"judge_texts": config.judge_texts, "judge": config.judge.to_dict()}
    ctx.judge, _, _ = cached_classifier(
        config,
        ctx,
        "judge",
        parts=parts,
        init_seed=ctx.seed,
        max_length=config.judge.max_length,
        train=lambda: train_proxy(
            config.base,
            ctx.codec,
            train=judge_train,
            val=judge_val,
            config=config.judge,
            seed=ctx.seed,
            device=ctx.device,
            progress=ctx.progress,
        ),
    )
    gold, predicted = predict_labels(ctx.judge, ctx.train)
    ctx.judge_ceiling = accuracy(gold, predicted)
    log(f"  held-out judge: {len(rows)} unused train rows, {ctx.judge_ceiling:.1%} right on the originals")


def load_or_train(
    ctx: SeedRun,
    stage: str,
    parts: dict,
    *,
    build: Callable[[], Any],
    train: Callable[[], tuple[Any, dict]],
    module_of: Callable[[Any], torch.nn.Module],
):
    """(stage object, training report, training seconds) of one stage of a seed.

    When an earlier run saved this stage under the same key, `build()` makes the untrained object and
    the saved weights go into `module_of(it)`; otherwise `train()` -> (object, report) trains it, and
    it is saved for the next run. Nothing is built that is not used."""
    key = entry_key(stage, {**ctx.cache_parts, **parts}) if ctx.cache is not None else None
    if ctx.cache is not None and key is not None and ctx.cache.has(key):
        thing = build()
        meta = ctx.cache.load(key, module_of(thing))
        assert meta is not None
        return thing, meta["report"], meta["seconds"]
    t0 = time.perf_counter()
    thing, report = train()
    seconds = time.perf_counter() - t0
    if ctx.cache is not None and key is not None:
        ctx.cache.save(key, module_of(thing), {"report": report, "seconds": seconds})
    return thing, report, seconds


def cached_classifier(
    config: BenchConfig,
    ctx: SeedRun,
    stage: str,
    *,
    parts: dict,
    init_seed: int,
    max_length: int,
    train: Callable[[], tuple[ClassifierRunner, dict]],
) -> tuple[ClassifierRunner, dict, float]:
    """A classifier stage (judge, proxy, `none`) through `load_or_train`; `train()` -> (runner, report)."""

    def build() -> ClassifierRunner:
        model = load_classifier(config.base, ctx.train.label_names, ctx.device, seed=init_seed)
        return ClassifierRunner(model.eval(), ctx.codec, max_length)

    return load_or_train(ctx, stage, parts, build=build, train=train, module_of=lambda runner: runner.model)


def none_classifier(config: BenchConfig, ctx: SeedRun) -> tuple[ClassifierRunner, dict, float]:
    """The `none` classifier of this seed (cross-entropy on the originals): (runner, report, seconds)."""

    def train():
        model, report = train_task_classifier(config.base, ctx.codec, train=ctx.train, val=ctx.val, config=config.classifier, seed=ctx.seed, device=ctx.device, noise=PLAIN, pseudo=None, regenerate_every=0, progress=ctx.progress)  # fmt: skip
        return ClassifierRunner(model, ctx.codec, config.classifier.max_length), report

    # the task classifier's head is drawn from seed + 1 (train_task_classifier)
    parts = {"classifier": config.classifier.to_dict()}
    return cached_classifier(
        config,
        ctx,
        "none",
        parts=parts,
        init_seed=ctx.seed + 1,
        max_length=config.classifier.max_length,
        train=train,
    )


def ensure_proxy(config: BenchConfig, ctx: SeedRun) -> ClassifierRunner:
    """The proxy of this seed, trained (or loaded) on first use."""
    if ctx.proxy is None:
        ctx.proxy, _, ctx.proxy_seconds = cached_classifier(
            config,
            ctx,
            "proxy",
            parts={"proxy": config.proxy.to_dict()},
            init_seed=ctx.seed,
            max_length=config.proxy.max_length,
            train=lambda: train_proxy(
                config.base,
                ctx.codec,
                train=ctx.train,
                val=ctx.val,
                config=config.proxy,
                seed=ctx.seed,
                device=ctx.device,
                progress=ctx.progress,
            ),
        )
    return ctx.proxy


def ensure_generator(config: BenchConfig, ctx: SeedRun, label_prompt: bool) -> GeneratorBundle:
    """The generator of this seed with or without label prompting, trained (or loaded) on first use."""
    if label_prompt in ctx.generators:
        return ctx.generators[label_prompt]
    proxy = ensure_proxy(config, ctx)
    # the proxy's importance weights shape the generator's training: its configuration is part of the key
    parts = {
        "proxy": config.proxy.to_dict(),
        "generator": config.generator.to_dict(),
        "schedule": asdict(config.schedule),
        "label_prompt": label_prompt,
    }

    def build() -> GeneratorBundle:
        bundle = untrained_generator(
            config.base, ctx.train.label_names, ctx.device, seed=ctx.seed, label_prompt=label_prompt
        )
        bundle.model.eval()
        return bundle

    def train() -> tuple[GeneratorBundle, dict]:
        bundle = train_diffusion_generator(
            config.base,
            ctx.codec,
            ctx.train.label_names,
            train=ctx.train,
            val=ctx.val,
            importance_source=proxy,
            config=config.generator,
            schedule=config.schedule,
            seed=ctx.seed,
            device=ctx.device,
            label_prompt=label_prompt,
            progress=ctx.progress,
        )
        return bundle, bundle.report

    bundle, report, seconds = load_or_train(
        ctx, "generator", parts, build=build, train=train, module_of=lambda b: b.model
    )
    bundle.report = report
    ctx.generators[label_prompt] = bundle
    ctx.generator_seconds[label_prompt] = seconds
    return bundle

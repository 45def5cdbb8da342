"""The trained stages of `fit`, one function each: the proxy classifier, the diffusion generator (and
the untrained one saved weights load into), the task classifier. The quality bench calls them one at
a time, to share a seed's proxy and generators between its methods."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.classifier import (
    ClassifierConfig,
    ClassifierRunner,
    NoiseResistance,
    PseudoSource,
    TrainingOptions,
    load_classifier,
    train_classifier,
)
from training.common import pretrained_kwargs
from training.data import LabelledData
from training.generator import (
    NULL_LABEL_TOKEN,
    DiffusionExample,
    GeneratorConfig,
    ScheduleConfig,
    add_label_tokens,
    context_free_prior,
    label_token,
    load_base_mlm,
    prior_shift,
    train_generator,
)
from training.text import TextCodec, ensure_special_tokens

log = logging.getLogger(__name__)


def load_tokenizer(name_or_path: str | Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), **pretrained_kwargs(name_or_path))
    ensure_special_tokens(tokenizer)
    return tokenizer


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
    # The base's context_free_prior before fine-tuning (None when the head was created untrained).
    base_prior: torch.Tensor | None = None

    def prior_shift(self) -> torch.Tensor | None:
        """generator.prior_shift of the model as it is now against the base; None without a base prior."""
        if self.base_prior is None:
            return None
        return prior_shift(self.base_prior, self._context_free_prior())

    def _context_free_prior(self) -> torch.Tensor:
        tok = self.tokenizer
        return context_free_prior(
            self.model,
            label_id=self.null_id,
            cls_id=tok.cls_token_id,
            sep_id=tok.sep_token_id,
            mask_id=tok.mask_token_id,
        )


def train_proxy(
    base: str | Path,
    codec: TextCodec,
    *,
    train: LabelledData,
    val: LabelledData,
    config: ClassifierConfig,
    seed: int,
    device: torch.device,
    progress: bool = True,
) -> tuple[ClassifierRunner, dict]:
    model = load_classifier(base, train.label_names, device, seed=seed)
    report = train_classifier(
        model, codec, train=train, val=val, config=config, seed=seed, desc="proxy", progress=progress
    )
    return ClassifierRunner(model, codec, max_length=config.max_length), report


def untrained_generator(
    base: str | Path, labels: list[str], device: torch.device, *, seed: int, label_prompt: bool = True
) -> GeneratorBundle:
    """The base MLM with the label tokens added: what `train_diffusion_generator` fine-tunes (and what
    saved generator weights load into)."""
    generator, head_created = load_base_mlm(base, device, seed)
    tokenizer = load_tokenizer(base)
    token_ids = add_label_tokens(generator, tokenizer, labels)
    null_id = token_ids[NULL_LABEL_TOKEN]
    # Without label prompting every example (and later every sample) carries the null label.
    prompt_ids = {lbl: token_ids[label_token(lbl)] if label_prompt else null_id for lbl in labels}
    bundle = GeneratorBundle(
        model=generator,
        tokenizer=tokenizer,
        prompt_ids=prompt_ids,
        null_id=null_id,
        label_prompt=label_prompt,
        head_created=head_created,
        report={},
    )
    if not head_created:
        # Measured with the generator's own prompt (the null label's new row included), so the shift
        # of an unchanged model is exactly 0.
        bundle.base_prior = bundle._context_free_prior()
    return bundle


def train_diffusion_generator(
    base: str | Path,
    codec: TextCodec,
    labels: list[str],
    *,
    train: LabelledData,
    val: LabelledData,
    importance_source: ClassifierRunner,
    config: GeneratorConfig,
    schedule: ScheduleConfig,
    seed: int,
    device: torch.device,
    label_prompt: bool = True,
    progress: bool = True,
) -> GeneratorBundle:
    """Importance weights from the proxy, label tokens, masked-diffusion fine-tuning of the base MLM."""
    bundle = untrained_generator(base, labels, device, seed=seed, label_prompt=label_prompt)
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
        null_label_id=bundle.null_id,
        schedule=schedule,
        config=config,
        seed=seed,
        head_is_new=bundle.head_created,
        progress=progress,
        validation=examples(val),
    )
    return bundle


def train_task_classifier(
    base: str | Path,
    codec: TextCodec,
    *,
    train: LabelledData,
    val: LabelledData,
    config: ClassifierConfig,
    seed: int,
    device: torch.device,
    noise: NoiseResistance = NoiseResistance(),
    pseudo: PseudoSource | None = None,
    regenerate_every: int = 1,
    progress: bool = True,
    options: TrainingOptions = TrainingOptions(),
    desc: str = "classifier",
):
    """The task classifier on originals plus pseudo samples from `pseudo` (None: originals only),
    with optional training-time `options` (label confusion, mixup); `desc` names it in the progress."""
    model = load_classifier(base, train.label_names, device, seed=seed + 1)
    report = train_classifier(
        model,
        codec,
        train=train,
        val=val,
        config=config,
        seed=seed,
        desc=desc,
        progress=progress,
        noise=noise,
        pseudo=pseudo,
        regenerate_every=regenerate_every,
        options=options,
    )
    return model, report

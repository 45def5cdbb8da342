"""The checkpoint folder: one writer, one reader.

    <folder>/
      diffusioncls.json   our settings: labels, label tokens, schedule, training settings and
                          reports, sampler defaults, base model, library versions
      tokenizer/          the base tokenizer: encodes and decodes all content text
      generator/          masked LM with label-token rows (HF save_pretrained, safetensors) + its tokenizer,
                          and prior_shift.safetensors: what fine-tuning did to its context-free prior
      proxy/              sequence classifier behind the importance weights (HF save_pretrained)
      classifier/         optional task classifier (HF save_pretrained)
      README.md           a model card for people; training-curves.png its loss and score curves

Everything loads offline from the folder alone. A checkpoint is written to a temporary sibling
folder and renamed into place, so a crash never leaves a half-written folder that looks valid.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from training.checkpoint_format import (
    FORMAT,
    FORMAT_VERSION,
    SETTINGS_FILE,
    CheckpointError,
    read_settings_file,
)
from training.classifier import ClassifierRunner
from training.common import library_versions
from training.defaults import DEFAULT_STEPS, EVERY_ROUND_GUIDED, NO_PRIOR_CORRECTION, NO_REPETITION_PENALTY
from training.generator import LABEL_POSITION, NULL_LABEL_TOKEN, PREFIX_LENGTH, ScheduleConfig, label_token
from training.model_card import CARD_FILE, CURVES_FILE, model_card
from training.sampler import DecodeConfig
from training.text import TextCodec

COMPONENTS = ("generator", "proxy", "classifier")
PRIOR_SHIFT_FILE = "prior_shift.safetensors"  # in generator/: training.generator.prior_shift, (V,)


@dataclass(frozen=True)
class SamplerDefaults:
    steps: tuple[int, int] = DEFAULT_STEPS
    rounds: int = DecodeConfig.rounds
    temperature: float = DecodeConfig.temperature
    top_k: int = DecodeConfig.top_k
    top_p: float = DecodeConfig.top_p
    guidance_scale: float = DecodeConfig.guidance_scale
    guided_rounds: int = DecodeConfig.guided_rounds
    repetition_penalty: float = DecodeConfig.repetition_penalty
    prior_correction: float = DecodeConfig.prior_correction
    # The label filter (with top-up) `augment` and POST /augment apply when a call does not say: 0.5
    # for checkpoints `fit` writes, whatever its budget, unless `fit --min-label-prob` named one (0 =
    # off; training/cli/fit.py, AUGMENT_MIN_LABEL_PROB). Checkpoints fitted before 2026-12-07 have no
    # field and keep every output; the first to have it recorded fit's own filter (0 under 100 texts).
    min_label_prob: float = 0.0


@dataclass
class CheckpointSettings:
    labels: list[str]
    base_model: str
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    sampler: SamplerDefaults = field(default_factory=SamplerDefaults)
    max_length: int = 128  # prompt length of the generator, specials included
    generator: dict[str, Any] = field(default_factory=dict)  # training settings and report
    proxy: dict[str, Any] = field(default_factory=dict)
    classifier: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    components: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=library_versions)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def label_tokens(self) -> dict[str, str]:
        return {label: label_token(label) for label in self.labels}

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["sampler"]["steps"] = list(self.sampler.steps)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **body,
            "label_tokens": self.label_tokens,
            "null_label_token": NULL_LABEL_TOKEN,
            "prompt": {
                "layout": "[CLS] [LABEL=y] [SEP] x_1 .. x_n [SEP]",
                "label_position": LABEL_POSITION,
                "prefix_length": PREFIX_LENGTH,
            },
        }

    @staticmethod
    def from_json(body: dict[str, Any]) -> CheckpointSettings:
        """The settings of a body that `read_settings_file` has checked."""
        # A checkpoint fitted before a knob existed decodes as it always did: without the repetition
        # penalty or the prior correction, and guided in every round.
        sampler = {
            "repetition_penalty": NO_REPETITION_PENALTY,
            "guided_rounds": EVERY_ROUND_GUIDED,
            "prior_correction": NO_PRIOR_CORRECTION,
            **body["sampler"],
        }
        sampler["steps"] = tuple(sampler["steps"])
        return CheckpointSettings(
            labels=list(body["labels"]),
            base_model=body["base_model"],
            schedule=ScheduleConfig(**body["schedule"]),
            sampler=SamplerDefaults(**sampler),
            max_length=int(body["max_length"]),
            generator=body.get("generator", {}),
            proxy=body.get("proxy", {}),
            classifier=body.get("classifier", {}),
            data=body.get("data", {}),
            components=list(body.get("components", [])),
            versions=body.get("versions", {}),
            created_at=body.get("created_at", ""),
        )


def refuse_existing(folder: str | Path, *, overwrite: bool) -> None:
    """Raise unless `folder` is free to write a checkpoint into (absent, or `overwrite`). `fit` asks
    before it trains as well as when it writes, so a taken folder costs seconds, not the whole fit."""
    if Path(folder).exists() and not overwrite:
        raise CheckpointError(f"{folder} already exists (pass overwrite=True / --overwrite to replace it)")


def write_checkpoint(
    folder: str | Path,
    settings: CheckpointSettings,
    tokenizer,
    *,
    models: dict[str, Any],
    generator_tokenizer=None,
    prior_shift: torch.Tensor | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `models` (component name -> HF model) with the tokenizer(s), the generator's prior shift
    (when measured) and settings, atomically."""
    folder = Path(folder)
    unknown = set(models) - set(COMPONENTS)
    if unknown:
        raise CheckpointError(f"unknown component(s) {sorted(unknown)}; expected some of {COMPONENTS}")
    if "generator" not in models:
        raise CheckpointError("a checkpoint needs a generator")
    refuse_existing(folder, overwrite=overwrite)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tokenizer.save_pretrained(staging / "tokenizer")
        for name, model in models.items():
            model.save_pretrained(staging / name, safe_serialization=True)
        (generator_tokenizer or tokenizer).save_pretrained(staging / "generator")
        if prior_shift is not None:
            from safetensors.torch import save_file

            save_file(
                {"prior_shift": prior_shift.float().contiguous().cpu()},
                staging / "generator" / PRIOR_SHIFT_FILE,
            )
        settings.components = [name for name in COMPONENTS if name in models]
        body = settings.to_json()
        (staging / SETTINGS_FILE).write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        # For people: a model card and the training curves, from the same settings
        (staging / CARD_FILE).write_text(model_card(body, folder.name), encoding="utf-8")
        from training.plots import curves_figure, save_png  # matplotlib: only when writing

        curves = curves_figure(body)
        if curves is not None:
            save_png(curves, staging / CURVES_FILE)
        if folder.exists():
            backup = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            folder.rename(backup)
            staging.rename(folder)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def read_settings(folder: str | Path) -> CheckpointSettings:
    _, body = read_settings_file(folder)
    try:
        return CheckpointSettings.from_json(body)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{Path(folder) / SETTINGS_FILE} lacks or has a bad field: {err}") from None


@dataclass
class Checkpoint:
    """A loaded checkpoint: settings, base tokenizer, label token ids, and the requested models."""

    folder: Path
    settings: CheckpointSettings
    tokenizer: Any
    label_ids: dict[str, int]  # label -> id of its [LABEL=y] token in the generator vocabulary
    null_label_id: int
    generator: Any = None
    proxy: Any = None
    classifier: Any = None
    prior_shift: torch.Tensor | None = None  # with the generator, when fit measured it

    def temperature(self, component: str) -> float:
        """The temperature `fit` calibrated the probabilities of `component` ("proxy" or "classifier")
        with on validation; 1 (as trained) for checkpoints written before it did."""
        section = getattr(self.settings, component)
        return float(section.get("calibration", {}).get("temperature", 1.0))

    def judge_runner(self, *, precision: str = "auto", model: Any = None) -> tuple[ClassifierRunner, str]:
        """The runner of the checkpoint's judge, the task classifier when it was loaded and else the
        proxy (what /classify, `label_prob` and the importance weights use), its probabilities divided
        by fit's temperature; and which component it is. `model` stands in for the loaded weights (the
        worker's int8 copy). Raises ValueError when neither was loaded."""
        name = "classifier" if self.classifier is not None else "proxy"
        weights = model if model is not None else getattr(self, name)
        if weights is None:
            raise ValueError(f"{self.folder} has neither a classifier nor a proxy loaded")
        runner = ClassifierRunner(
            weights,
            TextCodec(self.tokenizer),
            max_length=self.settings.max_length,
            precision=precision,
            temperature=self.temperature(name),
        )
        return runner, name


def load_checkpoint(
    folder: str | Path, device: torch.device | str = "cpu", components: tuple[str, ...] = COMPONENTS
) -> Checkpoint:
    """Read the settings and load the requested components that the checkpoint has, offline."""
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer

    from training.text import ensure_special_tokens

    folder = Path(folder)
    settings = read_settings(folder)
    device = torch.device(device)
    tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
    ensure_special_tokens(tokenizer)
    vocab = AutoTokenizer.from_pretrained(str(folder / "generator"), local_files_only=True).get_vocab()
    missing = [tok for tok in [*settings.label_tokens.values(), NULL_LABEL_TOKEN] if tok not in vocab]
    if missing:
        raise CheckpointError(f"the generator tokenizer lacks the label token(s) {missing}")
    loaded = Checkpoint(
        folder=folder,
        settings=settings,
        tokenizer=tokenizer,
        label_ids={label: vocab[tok] for label, tok in settings.label_tokens.items()},
        null_label_id=vocab[NULL_LABEL_TOKEN],
    )
    for name in components:
        if name not in settings.components:
            continue
        path = folder / name
        if not path.is_dir():
            raise CheckpointError(f"{path} is listed in {SETTINGS_FILE} but missing")
        auto = AutoModelForMaskedLM if name == "generator" else AutoModelForSequenceClassification
        model = auto.from_pretrained(str(path), dtype=torch.float32, local_files_only=True).to(device).eval()
        setattr(loaded, name, model)
        if name == "generator" and (path / PRIOR_SHIFT_FILE).exists():
            from safetensors.torch import load_file

            loaded.prior_shift = load_file(str(path / PRIOR_SHIFT_FILE))["prior_shift"]
    return loaded

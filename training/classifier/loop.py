"""Fine-tuning a classifier: `ClassifierConfig`, `train_classifier` (epochs of originals with their
pseudo samples, regenerated on a schedule), one optimiser step per batch, and early stopping on the
validation macro-F1 (`BestWeights`)."""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from training.classifier.model import ClassifierRunner, evaluate_classifier
from training.classifier.objective import PLAIN, NoiseResistance, Objective, TrainingOptions, build_objective
from training.common import (
    adamw,
    bucketed_batches,
    linear_warmup_decay,
    optimiser_step,
    pad_batch,
    print_epoch,
)
from training.data import LabelledData
from training.text import TextCodec


@dataclass(frozen=True)
class ClassifierConfig:
    lr: float = 1e-4
    epochs: int = 8
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    # epochs without a better validation macro-F1 before stopping; 0 = train every epoch and keep
    # the last weights (few-shot runs, where a validation split of a handful of texts is noise)
    patience: int = 2
    max_length: int = 128
    precision: str = "auto"  # fp32, bf16 (mixed precision) or auto (bf16 where the hardware has it)

    def to_dict(self) -> dict:
        return asdict(self)


PseudoSource = Callable[[int, "ClassifierRunner"], list[list[str]]]
"""pseudo(epoch, runner of the classifier being trained) -> pseudo texts per original (same label)."""


class BestWeights:
    """Early stopping on a validation score, as one helper.

    `update(epoch, score, model)` after each epoch's validation: it keeps a copy of the weights of
    the best epoch so far and answers whether training should stop (`patience` epochs in a row
    without a better score). With patience 0 it never stops early and the last weights are the
    result, so no copy is taken. `restore(model)` puts the kept weights back.
    """

    def __init__(self, patience: int):
        self.patience = patience
        self.best_score = -1.0
        self.best_epoch = 0
        self.stale = 0
        self._state: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, score: float, model) -> bool:
        if score > self.best_score:
            self.best_score, self.best_epoch, self.stale = score, epoch, 0
            if self.patience > 0:
                self._state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            self.stale += 1
        return self.patience > 0 and self.stale >= self.patience

    def restore(self, model) -> None:
        if self._state is not None:
            model.load_state_dict(self._state)

    def report(self, history: list[dict]) -> dict:
        """The training report: the epoch whose weights are the result, and its validation score."""
        if self.patience == 0:  # the last weights are the result
            return {
                "history": history,
                "best_epoch": len(history),
                "best_val_macro_f1": history[-1].get("val_macro_f1", -1.0),
            }
        return {
            "history": history,
            "best_epoch": self.best_epoch or len(history),
            "best_val_macro_f1": self.best_score,
        }


@dataclass
class _Steps:
    """One optimiser step per batch: the originals of the batch with their pseudo samples, scored by
    the objective, gradients clipped to norm 1."""

    model: Any
    codec: TextCodec
    objective: Objective
    optimizer: torch.optim.Optimizer
    schedule: Any
    precision: str
    rng: random.Random
    torch_gen: torch.Generator

    @classmethod
    def build(
        cls,
        model,
        codec: TextCodec,
        objective: Objective,
        *,
        config: ClassifierConfig,
        originals: int,
        rng: random.Random,
        torch_gen: torch.Generator,
    ) -> _Steps:
        """AdamW over the model (and the label confusion model, when there is one) with linear warm-up
        and decay over all the steps of `config.epochs` epochs of `originals` texts."""
        extra = {"confusion": objective.confusion} if objective.confusion else {}
        optimizer = adamw(
            torch.nn.ModuleDict({"model": model, **extra}), lr=config.lr, weight_decay=config.weight_decay
        )
        total = math.ceil(originals / config.batch_size) * config.epochs
        schedule = linear_warmup_decay(optimizer, total, round(config.warmup_ratio * total))
        return cls(model, codec, objective, optimizer, schedule, config.precision, rng, torch_gen)

    def epoch(self, bar, examples: Sequence[tuple[list[int], list[list[int]], int]]) -> dict[str, float]:
        """Train on each batch of indices into `examples` (original ids, its pseudo samples' ids, its
        label) that the progress bar `bar` yields; the mean losses of the epoch."""
        device = next(self.model.parameters()).device
        sums = {"loss": 0.0, "ce": 0.0, "contrastive": 0.0}
        steps = 0
        for batch in bar:
            sequences = [examples[i][0] for i in batch]
            labels = [examples[i][2] for i in batch]
            for i in batch:
                sequences.extend(examples[i][1])
                labels.extend([examples[i][2]] * len(examples[i][1]))
            ids, attention = pad_batch(sequences, self.codec.pad_id)
            gold = torch.tensor(labels, device=device)
            loss, ce, lc = self.objective.losses(
                self.model,
                ids,
                attention,
                gold=gold,
                originals=len(batch),
                precision=self.precision,
                rng=self.rng,
                torch_gen=self.torch_gen,
            )
            optimiser_step(self.model, loss, self.optimizer, scheduler=self.schedule)
            sums["loss"] += loss.item()
            sums["ce"] += ce.item()
            sums["contrastive"] += lc.item() if lc is not None else 0.0
            steps += 1
            bar.set_postfix(loss=f"{sums['loss'] / steps:.4f}")
        return {f"train_{k}": v / max(1, steps) for k, v in sums.items()}


def train_classifier(
    model,
    codec: TextCodec,
    *,
    train: LabelledData,
    val: LabelledData | None,
    config: ClassifierConfig,
    seed: int,
    desc: str = "classifier",
    progress: bool = True,
    noise: NoiseResistance = PLAIN,
    pseudo: PseudoSource | None = None,
    regenerate_every: int = 1,
    options: TrainingOptions = TrainingOptions(),
) -> dict:
    """Fine-tune; keep the weights of the best validation macro-F1 epoch.

    Each batch holds originals and their pseudo samples: Le (cross-entropy) runs on all of them,
    Lc (contrastive separation, weight `noise.weight`) on the originals only. Pseudo samples come
    from `pseudo(epoch, runner)` at epoch 1 and then every `regenerate_every` epochs (0 = once), so
    they can use importance weights of the classifier being trained (reflective generation).
    `options` adds label confusion learning or mixup.
    Model selection only ever sees `val` (carved from training data), never a test split.
    """
    label_index = {model.config.id2label[i]: i for i in range(model.config.num_labels)}
    runner = ClassifierRunner(model, codec, config.max_length, precision=config.precision)
    room = config.max_length - 2
    originals = runner.inputs(codec.encode(train.texts, room))
    targets = [label_index[label] for label in train.labels]
    extra: list[list[list[int]]] = [[] for _ in originals]  # pseudo-sample inputs per original
    rng = random.Random(seed)
    torch_gen = torch.Generator().manual_seed(seed)
    objective = build_objective(model, list(label_index), targets, noise=noise, options=options, seed=seed)
    steps = _Steps.build(
        model, codec, objective, config=config, originals=len(originals), rng=rng, torch_gen=torch_gen
    )
    history: list[dict] = []
    best = BestWeights(config.patience)
    for epoch in range(1, config.epochs + 1):
        record: dict = {"epoch": epoch}
        due = epoch == 1 or (regenerate_every > 0 and (epoch - 1) % regenerate_every == 0)
        if pseudo is not None and due:
            extra = _pseudo_inputs(pseudo, epoch, runner, record=record)
        model.train()
        batches = list(bucketed_batches([len(s) for s in originals], config.batch_size, rng))
        bar = tqdm(batches, desc=f"{desc} epoch {epoch}/{config.epochs}", disable=not progress, leave=False)
        record.update(steps.epoch(bar, [(originals[i], extra[i], targets[i]) for i in range(len(originals))]))
        stop = False
        if val is not None and len(val):
            model.eval()
            record.update({f"val_{k}": v for k, v in evaluate_classifier(runner, val).items()})
            stop = best.update(epoch, record["val_macro_f1"], model)
        history.append(record)
        if progress:
            print_epoch(desc, record)
        if stop:
            break
    best.restore(model)
    model.eval()
    return best.report(history)


def _pseudo_inputs(
    pseudo: PseudoSource, epoch: int, runner: ClassifierRunner, *, record: dict
) -> list[list[list[int]]]:
    """Fresh pseudo samples from the classifier as it is now, as its inputs per original; their number
    and the time they took go into the epoch's `record`."""
    started = time.perf_counter()
    runner.model.eval()
    texts = pseudo(epoch, runner)
    room = runner.max_length - 2
    extra = [runner.inputs(runner.codec.encode(group, room)) if group else [] for group in texts]
    record["pseudo_samples"] = sum(len(group) for group in extra)
    record["generation_seconds"] = round(time.perf_counter() - started, 1)
    return extra

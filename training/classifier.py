"""Sequence classifiers: the proxy of the noise schedule and the task classifier.

An HF `AutoModelForSequenceClassification` on the base encoder, so each saves and loads with
`save_pretrained`. Inputs are built from the codec's content ids (`[CLS] x [SEP]`), the same ids the
generator sees, so importance weights line up with generator positions one to one.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from training.common import (
    adamw,
    autocast,
    bucketed_batches,
    linear_warmup_decay,
    optimiser_step,
    pad_batch,
    pretrained_kwargs,
    seeded,
)
from training.data import LabelledData
from training.metrics import accuracy, macro_f1
from training.schedule import importance_from_attention
from training.text import EncodedText, TextCodec


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


def load_classifier(
    name_or_path: str | Path, label_names: Sequence[str], device: torch.device, seed: int = 0
):
    """A sequence classifier on the base encoder, with a fresh head (drawn from `seed`) for `label_names`."""
    from transformers import AutoModelForSequenceClassification

    with seeded(seed):
        model = AutoModelForSequenceClassification.from_pretrained(
            str(name_or_path),
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: i for i, name in enumerate(label_names)},
            dtype=torch.float32,
            **pretrained_kwargs(name_or_path),
        )
    return model.to(device)


@contextlib.contextmanager
def _eager_attention(model):
    """Attention probabilities are only returned by the eager implementation; switch for the call."""
    previous = model.config._attn_implementation
    if previous != "eager":
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if previous != "eager":
            model.set_attn_implementation(previous)


def quantize_int8(model):
    """The classifier with its linear layers in int8 (dynamic quantisation: weights stored in int8,
    activations quantised per batch); CPU only. On India-COVID-X (a 195-text fit, base v3, 926 test
    tweets) it was 1.5x the texts/s at batch 16 and 64 and 2.4x for one text, for 1.0 point of
    accuracy and 0.8 of macro-F1 (docs/SPEED.md). Run it with precision fp32: int8 kernels take
    float32 activations, not bf16."""
    if next(model.parameters()).device.type != "cpu":
        raise ValueError("int8 dynamic quantisation runs on the CPU only")
    # torch.ao's quantised tensors are deprecated upstream (pytorch issue 184982) but work in the
    # torch versions this project admits (< 2.14); the warning would be printed at every load.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*quantiz.*deprecated", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class ClassifierRunner:
    """Inference around a trained sequence classifier: probabilities and token importance."""

    def __init__(
        self, model, codec: TextCodec, max_length: int = 128, batch_size: int = 64, precision: str = "auto"
    ):
        self.model = model.eval()
        self.codec = codec
        self.max_length = max_length
        self.batch_size = batch_size
        self.precision = precision
        self.label_names: list[str] = [model.config.id2label[i] for i in range(model.config.num_labels)]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def inputs(self, encoded: Sequence[EncodedText]) -> list[list[int]]:
        # Content beyond the classifier's window is cut; the generator window is never larger.
        room = self.max_length - 2
        return [[self.codec.cls_id, *e.ids[:room], self.codec.sep_id] for e in encoded]

    @torch.inference_mode()
    def predict_proba(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> torch.Tensor:
        """(N, C) class probabilities, in the order of `texts`; `progress(k)` after each batch of k."""
        encoded = self.codec.encode(texts, self.max_length - 2)
        return self.predict_proba_encoded(encoded, progress)

    @torch.inference_mode()
    def predict_proba_encoded(
        self, encoded: Sequence[EncodedText], progress: Callable[[int], None] | None = None
    ) -> torch.Tensor:
        sequences = self.inputs(encoded)
        out = torch.empty((len(sequences), len(self.label_names)))
        for batch in bucketed_batches([len(s) for s in sequences], self.batch_size, rng=None):
            ids, attention = pad_batch([sequences[i] for i in batch], self.codec.pad_id)
            with autocast(self.device, self.precision, tokens=ids.numel()):
                logits = self.model(
                    input_ids=ids.to(self.device), attention_mask=attention.to(self.device)
                ).logits
            out[batch] = torch.softmax(logits.float(), dim=-1).cpu()
            if progress is not None:
                progress(len(batch))
        return out

    @torch.inference_mode()
    def importance(self, encoded: Sequence[EncodedText]) -> list[torch.Tensor]:
        """Per text, (n,) weights in [0, 1] over its content tokens (ALGORITHM 1).

        Last layer, mean over heads, the [CLS] query's row, maskable content tokens only, divided by
        the row's maximum over those tokens.
        """
        sequences = self.inputs(encoded)
        weights: list[torch.Tensor] = [torch.empty(0)] * len(sequences)
        with _eager_attention(self.model):
            for batch in bucketed_batches([len(s) for s in sequences], self.batch_size, rng=None):
                ids, attention = pad_batch([sequences[i] for i in batch], self.codec.pad_id)
                with autocast(self.device, self.precision, tokens=ids.numel()):
                    out = self.model(
                        input_ids=ids.to(self.device),
                        attention_mask=attention.to(self.device),
                        output_attentions=True,
                    )
                cls_row = out.attentions[-1].float().mean(dim=1)[:, 0, :].cpu()  # (b, L)
                content = torch.zeros_like(cls_row, dtype=torch.bool)
                for row, i in enumerate(batch):
                    n = len(sequences[i]) - 2
                    content[row, 1 : 1 + n] = torch.tensor(encoded[i].maskable[:n], dtype=torch.bool)
                scaled = importance_from_attention(cls_row, content)  # (b, L)
                for row, i in enumerate(batch):
                    n = len(sequences[i]) - 2
                    w = torch.zeros(len(encoded[i]))
                    w[:n] = scaled[row, 1 : 1 + n]
                    weights[i] = w
        return weights


def predict_labels(runner: ClassifierRunner, data: LabelledData) -> tuple[list[int], list[int]]:
    """(gold, predicted) label indices of `data`, in the runner's label order."""
    probs = runner.predict_proba(data.texts)
    index = {name: i for i, name in enumerate(runner.label_names)}
    return [index[label] for label in data.labels], probs.argmax(-1).tolist()


def evaluate_classifier(runner: ClassifierRunner, data: LabelledData) -> dict[str, float]:
    gold, predicted = predict_labels(runner, data)
    return {
        "accuracy": accuracy(gold, predicted),
        "macro_f1": macro_f1(gold, predicted, len(runner.label_names)),
    }


@dataclass(frozen=True)
class NoiseResistance:
    """The noise-resistant objective L = weight * Lc + Le (paper eqs. 4-6); weight 0 switches Lc off."""

    weight: float = 1.0
    temperature: float = 0.1  # tau of eq. 4

    def to_dict(self) -> dict:
        return asdict(self)


PLAIN = NoiseResistance(weight=0.0)


def contrastive_separation_loss(
    hidden: torch.Tensor, labels: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Paper eq. 4 over originals only: Lc = (1/K) log sum_i sum_{j: y_j != y_i} exp(cos(h_i, h_j) / tau).

    hidden (K, H) pooled representations, labels (K,). Minimising it pushes apart the most similar
    pairs of different labels. A batch with a single label has no pairs and contributes 0.
    """
    k = hidden.shape[0]
    normed = torch.nn.functional.normalize(hidden.float(), dim=-1)
    similarity = normed @ normed.T / temperature  # (K, K)
    different = labels[:, None] != labels[None, :]  # (K, K)
    if not bool(different.any()):
        return hidden.sum() * 0.0
    return torch.logsumexp(similarity[different], dim=0) / k


def classification_loss(
    logits: torch.Tensor, targets: torch.Tensor, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Paper eq. 5: cross-entropy averaged over originals and pseudo samples alike; with
    `class_weights` (C,), each example weighs its class's weight (a weighted mean)."""
    return torch.nn.functional.cross_entropy(logits.float(), targets, weight=class_weights)


def inverse_frequency_weights(targets: Sequence[int], n_classes: int) -> list[float]:
    """N / (C * count_c) per class c (0 for a class with no example): the weighted classes then
    contribute equally, as if the training set were balanced."""
    counts = [0] * n_classes
    for t in targets:
        counts[t] += 1
    return [len(targets) / (n_classes * c) if c else 0.0 for c in counts]


@dataclass(frozen=True)
class TrainingOptions:
    """Training-time options: augmentation from the seeds and class weighting; all off by default."""

    label_confusion_alpha: float = 0.0  # > 0: label confusion learning (as in LCDA) with this alpha
    mixup_alpha: float = 0.0  # > 0: mixup of the head's input features, weights ~ Beta(a, a)
    class_weighted: bool = False  # cross-entropy weighted by inverse class frequency (imbalanced data)

    def to_dict(self) -> dict:
        return asdict(self)


class LabelConfusion(torch.nn.Module):
    """Label confusion model (Guo et al., AAAI 2021): how similar each label is to a text.

    Label embeddings pass a tanh layer, are compared by dot product with the text representation,
    and a dense layer with softmax turns the similarities into the label confusion distribution c.
    """

    def __init__(self, n_labels: int, hidden: int, seed: int):
        super().__init__()
        with seeded(seed):
            self.labels = torch.nn.Embedding(n_labels, hidden)
            self.project = torch.nn.Linear(hidden, hidden)
            self.mix = torch.nn.Linear(n_labels, n_labels)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """text (B, H) -> c (B, C), a distribution over labels."""
        labels = torch.tanh(self.project(self.labels.weight))  # (C, H)
        return torch.softmax(self.mix(text @ labels.T), dim=-1)


def label_confusion_loss(
    logits: torch.Tensor, targets: torch.Tensor, confusion: torch.Tensor, alpha: float
) -> torch.Tensor:
    """KL(simulated || predicted) with the simulated label distribution softmax(alpha * onehot + c).

    logits (B, C), targets (B,), confusion c (B, C) -> scalar, averaged over the batch.
    """
    onehot = torch.nn.functional.one_hot(targets, logits.shape[-1]).float()
    simulated = torch.softmax(alpha * onehot + confusion.float(), dim=-1)
    log_predicted = torch.log_softmax(logits.float(), dim=-1)
    return (simulated * (simulated.log() - log_predicted)).sum(-1).mean()


def mixup_loss(
    head, features: torch.Tensor, targets: torch.Tensor, weight: float, partner: torch.Tensor
) -> torch.Tensor:
    """Mixup (Zhang et al. 2017) on the head's input: the head sees weight * f + (1 - weight) * f[partner]
    and is scored against both labels with the same weights."""
    mixed = weight * features + (1.0 - weight) * features[partner]
    logits = head(mixed).float()
    ce = torch.nn.functional.cross_entropy
    return weight * ce(logits, targets) + (1.0 - weight) * ce(logits, targets[partner])


def head_parts(model):
    """(encoder, dropout, linear head) of a BERT-family sequence classifier, whose head reads the
    pooled [CLS] output; other architectures are refused with a clear error."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise ValueError(
            f"{type(model).__name__} has no linear head on a pooled output; mixup, label confusion and "
            "embedding-space oversampling need a BERT-family classifier"
        )
    return model.base_model, getattr(model, "dropout", torch.nn.Identity()), head


def head_features(
    model, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features the linear head reads (B, H), last hidden states (B, L, H))."""
    encoder, dropout, _ = head_parts(model)
    out = encoder(input_ids=input_ids, attention_mask=attention_mask)
    pooled = (
        out.pooler_output if getattr(out, "pooler_output", None) is not None else out.last_hidden_state[:, 0]
    )
    return dropout(pooled), out.last_hidden_state


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
class _Objective:
    """What one training batch is scored by: a classification loss (plain or class-weighted
    cross-entropy, label confusion, or mixup) plus, with `noise.weight` > 0, the contrastive term
    on the originals."""

    noise: NoiseResistance
    options: TrainingOptions
    class_weights: torch.Tensor | None = None
    confusion: LabelConfusion | None = None

    @property
    def needs_head_features(self) -> bool:  # label confusion and mixup read the head's input
        return self.options.label_confusion_alpha > 0 or self.options.mixup_alpha > 0

    def losses(
        self,
        model,
        ids: torch.Tensor,
        attention: torch.Tensor,
        gold: torch.Tensor,
        originals: int,
        precision: str,
        rng: random.Random,
        torch_gen: torch.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(total loss, classification loss, contrastive loss or None) of a batch whose first
        `originals` rows are originals and the rest their pseudo samples."""
        device = gold.device
        last_hidden: torch.Tensor | None = None
        with torch.random.fork_rng(devices=[]), autocast(device, precision):
            # dropout draws from a local stream; matrix products in bf16 when configured
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=torch_gen)))
            if self.needs_head_features:
                features, last_hidden = head_features(model, ids.to(device), attention.to(device))
                logits = model.classifier(features)
            else:
                out = model(
                    input_ids=ids.to(device),
                    attention_mask=attention.to(device),
                    output_hidden_states=self.noise.weight > 0,
                )
                logits = out.logits
                if self.noise.weight > 0:
                    last_hidden = out.hidden_states[-1]
        if self.options.mixup_alpha > 0:
            weight = rng.betavariate(self.options.mixup_alpha, self.options.mixup_alpha)
            partner = torch.randperm(len(gold), generator=torch_gen).to(device)
            ce = mixup_loss(model.classifier, features.float(), gold, weight, partner)
        elif self.confusion is not None:
            # the extra heads run outside the autocast region
            distribution = self.confusion(features.float())
            ce = label_confusion_loss(logits, gold, distribution, self.options.label_confusion_alpha)
        else:
            ce = classification_loss(logits, gold, self.class_weights)
        if self.noise.weight <= 0:
            return ce, ce, None
        assert last_hidden is not None
        pooled = last_hidden[:originals, 0]  # [CLS] states of the originals
        lc = contrastive_separation_loss(pooled, gold[:originals], self.noise.temperature)
        return ce + self.noise.weight * lc, ce, lc


@dataclass
class _Steps:
    """One optimiser step per batch: the originals of the batch with their pseudo samples, scored by
    the objective, gradients clipped to norm 1."""

    model: Any
    codec: TextCodec
    objective: _Objective
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
        objective: _Objective,
        config: ClassifierConfig,
        originals: int,
        rng: random.Random,
        torch_gen: torch.Generator,
    ) -> _Steps:
        """AdamW over the model (and the label confusion model, when there is one) with linear warm-up
        and decay over all the steps of `config.epochs` epochs of `originals` texts."""
        extra = {"confusion": objective.confusion} if objective.confusion else {}
        optimizer = adamw(torch.nn.ModuleDict({"model": model, **extra}), config.lr, config.weight_decay)
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
                self.model, ids, attention, gold, len(batch), self.precision, self.rng, self.torch_gen
            )
            optimiser_step(self.model, loss, self.optimizer, self.schedule)
            sums["loss"] += loss.item()
            sums["ce"] += ce.item()
            sums["contrastive"] += lc.item() if lc is not None else 0.0
            steps += 1
            bar.set_postfix(loss=f"{sums['loss'] / steps:.4f}")
        return {f"train_{k}": v / max(1, steps) for k, v in sums.items()}


def train_classifier(
    model,
    codec: TextCodec,
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
    objective = _objective(model, list(label_index), targets, noise, options, seed)
    steps = _Steps.build(model, codec, objective, config, len(originals), rng, torch_gen)
    history: list[dict] = []
    best = BestWeights(config.patience)
    for epoch in range(1, config.epochs + 1):
        record: dict = {"epoch": epoch}
        due = epoch == 1 or (regenerate_every > 0 and (epoch - 1) % regenerate_every == 0)
        if pseudo is not None and due:
            extra = _pseudo_inputs(pseudo, epoch, runner, record)
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
            tqdm.write(
                f"{desc} epoch {epoch}: "
                + ", ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch")
            )
        if stop:
            break
    best.restore(model)
    model.eval()
    return best.report(history)


def _pseudo_inputs(
    pseudo: PseudoSource, epoch: int, runner: ClassifierRunner, record: dict
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


def _objective(
    model, names: list[str], targets: list[int], noise: NoiseResistance, options: TrainingOptions, seed: int
) -> _Objective:
    """The batch loss `options` ask for, refusing combinations and architectures it cannot train."""
    objective = _Objective(noise, options)
    if options.class_weighted and objective.needs_head_features:
        raise ValueError("class weighting applies to plain cross-entropy, not to label confusion or mixup")
    if options.class_weighted:
        weights = inverse_frequency_weights(targets, len(names))
        device = next(model.parameters()).device
        objective.class_weights = torch.tensor(weights, dtype=torch.float32, device=device)
    if options.label_confusion_alpha > 0:
        device = next(model.parameters()).device
        objective.confusion = LabelConfusion(len(names), model.config.hidden_size, seed).to(device)
    if objective.needs_head_features:
        head_parts(model)  # refuse unsupported architectures before training starts
    return objective

"""What a training batch is scored by: the noise-resistant objective (`NoiseResistance`, the
contrastive and classification losses of the paper), the `TrainingOptions` from the seeds (class
weights, label confusion, mixup) with their losses, and `Objective`, which combines them per batch."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from training.classifier.model import head_features, head_parts
from training.common import autocast, seeded


@dataclass(frozen=True)
class NoiseResistance:
    """The noise-resistant objective L = weight * Lc + Le (paper eqs. 4-6); weight 0 switches Lc off."""

    weight: float = 1.0
    temperature: float = 0.1  # tau of eq. 4

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def name(self) -> str:
        """How progress lines, `fit`'s report and model cards name this loss."""
        return "cross-entropy alone" if self.weight == 0 else f"cross-entropy + {self.weight:g} x Lc"


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
    logits: torch.Tensor, targets: torch.Tensor, confusion: torch.Tensor, *, alpha: float
) -> torch.Tensor:
    """KL(simulated || predicted) with the simulated label distribution softmax(alpha * onehot + c).

    logits (B, C), targets (B,), confusion c (B, C) -> scalar, averaged over the batch.
    """
    onehot = torch.nn.functional.one_hot(targets, logits.shape[-1]).float()
    simulated = torch.softmax(alpha * onehot + confusion.float(), dim=-1)
    log_predicted = torch.log_softmax(logits.float(), dim=-1)
    return (simulated * (simulated.log() - log_predicted)).sum(-1).mean()


def mixup_loss(
    head, features: torch.Tensor, targets: torch.Tensor, *, weight: float, partner: torch.Tensor
) -> torch.Tensor:
    """Mixup (Zhang et al. 2017) on the head's input: the head sees weight * f + (1 - weight) * f[partner]
    and is scored against both labels with the same weights."""
    mixed = weight * features + (1.0 - weight) * features[partner]
    logits = head(mixed).float()
    ce = torch.nn.functional.cross_entropy
    return weight * ce(logits, targets) + (1.0 - weight) * ce(logits, targets[partner])


@dataclass
class Objective:
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
        *,
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
            ce = mixup_loss(model.classifier, features.float(), gold, weight=weight, partner=partner)
        elif self.confusion is not None:
            # the extra heads run outside the autocast region
            distribution = self.confusion(features.float())
            ce = label_confusion_loss(logits, gold, distribution, alpha=self.options.label_confusion_alpha)
        else:
            ce = classification_loss(logits, gold, self.class_weights)
        if self.noise.weight <= 0:
            return ce, ce, None
        assert last_hidden is not None
        pooled = last_hidden[:originals, 0]  # [CLS] states of the originals
        lc = contrastive_separation_loss(pooled, gold[:originals], self.noise.temperature)
        return ce + self.noise.weight * lc, ce, lc


def build_objective(
    model,
    names: list[str],
    targets: list[int],
    *,
    noise: NoiseResistance,
    options: TrainingOptions,
    seed: int,
) -> Objective:
    """The batch loss `options` ask for, refusing combinations and architectures it cannot train."""
    objective = Objective(noise, options)
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

"""Embedding-space oversampling: synthetic minority-class features for the classifier head (as in
Choudhary, Thiels and Salehinejad, "Synthetic Feature Augmentation Improves Generalization
Performance of Language Models").

After the classifier is fine-tuned, the features its linear head reads (the pooled [CLS] output) are
extracted for the training texts, every class is topped up to the size of the largest with synthetic
features, and the head alone is retrained on the balanced set. Shapes: N = examples, H = feature size.
All randomness comes from the generator passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from training.classifier import head_features, head_parts
from training.common import autocast, bucketed_batches, pad_batch, seeded
from training.data import LabelledData
from training.text import TextCodec

OVERSAMPLERS = ("ros", "smote", "borderline_smote", "vae")


def shortfalls(labels: torch.Tensor, n_classes: int) -> list[int]:
    """How many synthetic examples each class needs to reach the largest class."""
    counts = torch.bincount(labels, minlength=n_classes)
    return [int(counts.max() - c) if c > 0 else 0 for c in counts]


def random_oversample(features: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
    """Copies of randomly chosen members of each short class."""
    out_x, out_y = [], []
    for c, need in enumerate(shortfalls(labels, int(labels.max()) + 1)):
        members = (labels == c).nonzero().flatten()
        if need and len(members):
            pick = members[torch.randint(len(members), (need,), generator=generator)]
            out_x.append(features[pick])
            out_y.append(labels[pick])
    return _stack(out_x, out_y, features)


def _interpolate(
    features: torch.Tensor,
    seeds: torch.Tensor,
    pool: torch.Tensor,
    *,
    need: int,
    k: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """SMOTE step: from random `seeds` rows, move a uniform fraction towards one of their k nearest
    neighbours in `pool` (the same class)."""
    start = seeds[torch.randint(len(seeds), (need,), generator=generator)]  # (need,)
    if len(pool) < 2:
        return features[start].clone()
    distances = torch.cdist(features[start], features[pool])  # (need, |pool|)
    distances[pool.unsqueeze(0) == start.unsqueeze(1)] = math.inf  # not itself
    k = min(k, len(pool) - 1)
    nearest = distances.topk(k, dim=-1, largest=False).indices  # (need, k)
    choice = nearest.gather(1, torch.randint(k, (need, 1), generator=generator)).squeeze(1)
    neighbour = pool[choice]
    gap = torch.rand((need, 1), generator=generator)
    return features[start] + gap * (features[neighbour] - features[start])


def smote(features: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, *, k: int = 5):
    """SMOTE (Chawla et al. 2002): points on segments between a class member and a same-class neighbour."""
    out_x, out_y = [], []
    for c, need in enumerate(shortfalls(labels, int(labels.max()) + 1)):
        members = (labels == c).nonzero().flatten()
        if need and len(members):
            out_x.append(_interpolate(features, members, members, need=need, k=k, generator=generator))
            out_y.append(torch.full((need,), c, dtype=labels.dtype))
    return _stack(out_x, out_y, features)


def danger_members(features: torch.Tensor, labels: torch.Tensor, *, c: int, m: int) -> torch.Tensor:
    """Members of class c on the border: at least half, but not all, of their m nearest neighbours
    (over all classes) belong to other classes (Han et al. 2005)."""
    members = (labels == c).nonzero().flatten()
    m = min(m, len(labels) - 1)
    if m < 1 or not len(members):
        return members[:0]
    distances = torch.cdist(features[members], features)  # (|c|, N)
    distances[torch.arange(len(members)), members] = math.inf
    nearest = distances.topk(m, dim=-1, largest=False).indices  # (|c|, m)
    others = (labels[nearest] != c).sum(-1)
    return members[(others * 2 >= m) & (others < m)]


def borderline_smote(
    features: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, *, k: int = 5, m: int = 10
):
    """Borderline-SMOTE-1: SMOTE started only from border members (all members when none is on the border)."""
    out_x, out_y = [], []
    for c, need in enumerate(shortfalls(labels, int(labels.max()) + 1)):
        members = (labels == c).nonzero().flatten()
        if not need or not len(members):
            continue
        danger = danger_members(features, labels, c=c, m=m)
        out_x.append(
            _interpolate(
                features, danger if len(danger) else members, members, need=need, k=k, generator=generator
            )
        )
        out_y.append(torch.full((need,), c, dtype=labels.dtype))
    return _stack(out_x, out_y, features)


class ConditionalVAE(torch.nn.Module):
    """A small VAE over features, conditioned on the class (one-hot) in encoder and decoder."""

    def __init__(self, *, dim: int, n_classes: int, hidden: int = 128, latent: int = 16):
        super().__init__()
        self.n_classes = n_classes
        self.encoder = torch.nn.Sequential(torch.nn.Linear(dim + n_classes, hidden), torch.nn.GELU())
        self.mean = torch.nn.Linear(hidden, latent)
        self.log_var = torch.nn.Linear(hidden, latent)
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(latent + n_classes, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, dim)
        )
        self.latent = latent

    def condition(self, labels: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(labels, self.n_classes).float()

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, self.condition(labels)], -1))

    def loss(
        self, x: torch.Tensor, labels: torch.Tensor, noise: torch.Tensor, *, beta: float
    ) -> torch.Tensor:
        h = self.encoder(torch.cat([x, self.condition(labels)], -1))
        mean, log_var = self.mean(h), self.log_var(h)
        z = mean + noise * torch.exp(0.5 * log_var)
        reconstruction = (self.decode(z, labels) - x).pow(2).sum(-1).mean()
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(-1).mean()
        return reconstruction + beta * kl


def vae_oversample(
    features: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    *,
    epochs: int = 300,
    beta: float = 1.0,
):
    """Train a conditional VAE on standardised features; decode prior samples for each short class."""
    n_classes = int(labels.max()) + 1
    needs = shortfalls(labels, n_classes)
    if not any(needs):
        return _stack([], [], features)
    mean, std = features.mean(0), features.std(0).clamp_min(1e-6)
    x = (features - mean) / std
    with seeded(int(torch.randint(0, 2**31 - 1, (1,), generator=generator))):
        vae = ConditionalVAE(dim=features.shape[1], n_classes=n_classes)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)
    for _ in range(epochs):  # full batch: a few thousand rows of a few hundred dimensions
        noise = torch.randn((len(x), vae.latent), generator=generator)
        loss = vae.loss(x, labels, noise, beta=beta)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    out_x, out_y = [], []
    with torch.no_grad():
        for c, need in enumerate(needs):
            if need:
                wanted = torch.full((need,), c, dtype=labels.dtype)
                z = torch.randn((need, vae.latent), generator=generator)
                out_x.append(vae.decode(z, wanted) * std + mean)
                out_y.append(wanted)
    return _stack(out_x, out_y, features)


def _stack(xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor], like: torch.Tensor):
    if not xs:
        return like[:0], torch.zeros(0, dtype=torch.long)
    return torch.cat(list(xs)), torch.cat(list(ys))


def oversample(method: str, features: torch.Tensor, labels: torch.Tensor, *, seed: int):
    """Synthetic (features, labels) that bring every class up to the largest one."""
    generator = torch.Generator().manual_seed(seed)
    if method == "ros":
        return random_oversample(features, labels, generator)
    if method == "smote":
        return smote(features, labels, generator)
    if method == "borderline_smote":
        return borderline_smote(features, labels, generator)
    if method == "vae":
        return vae_oversample(features, labels, generator)
    raise ValueError(f"unknown oversampler {method!r}; use one of {OVERSAMPLERS}")


@torch.inference_mode()
def extract_features(
    model,
    codec: TextCodec,
    texts: Sequence[str],
    *,
    max_length: int,
    batch_size: int = 64,
    precision: str = "auto",
) -> torch.Tensor:
    """(N, H) features the linear head reads, in eval mode (no dropout)."""
    model.eval()
    device = next(model.parameters()).device
    sequences = [[codec.cls_id, *e.ids, codec.sep_id] for e in codec.encode(texts, max_length - 2)]
    out = torch.empty((len(sequences), model.config.hidden_size))
    for batch in bucketed_batches([len(s) for s in sequences], batch_size, rng=None):
        ids, attention = pad_batch([sequences[i] for i in batch], codec.pad_id)
        with autocast(device, precision):
            features, _ = head_features(model, ids.to(device), attention.to(device))
        out[batch] = features.float().cpu()
    return out


def rebalance_head(
    model,
    codec: TextCodec,
    train: LabelledData,
    *,
    method: str,
    seed: int,
    max_length: int = 128,
    epochs: int = 50,
    lr: float = 1e-3,
    batch_size: int = 64,
) -> dict:
    """Retrain the classifier's linear head on the training features plus synthetic minority features."""
    _, _, head = head_parts(model)
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    index = {name: i for i, name in enumerate(names)}
    features = extract_features(model, codec, train.texts, max_length=max_length)
    labels = torch.tensor([index[y] for y in train.labels])
    extra_x, extra_y = oversample(method, features, labels, seed=seed)
    x, y = torch.cat([features, extra_x]), torch.cat([labels, extra_y])
    device = head.weight.device
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    head.train()
    loss = torch.tensor(0.0)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            rows = order[start : start + batch_size]
            loss = torch.nn.functional.cross_entropy(head(x[rows].to(device)), y[rows].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    return {
        "method": method,
        "originals": len(features),
        "synthetic": len(extra_x),
        "counts_after": torch.bincount(y, minlength=len(names)).tolist(),
        "final_loss": round(loss.item(), 4),
    }

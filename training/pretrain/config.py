"""The run's settings and the learning rates they give: `PretrainConfig` (budgets, masking rates,
schedule), the warm-up/decay factor, and the optimiser's parameter groups with layer-wise decay."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PretrainConfig:
    lr: float = 3e-4  # peak learning rate of the top layer and the head
    layer_decay: float = 1.0  # layer-wise decay: layer i of L gets lr * decay**(L - i); 1 = none
    head_lr: float | None = None  # the MLM head's own rate (None = lr); a head created here wants 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    batch_size: int = 64  # windows per optimiser step, split into `accumulate` micro-batches
    accumulate: int = 1
    max_length: int = 64  # pieces per window, [CLS] and [SEP] included
    classic_share: float = 0.5  # share of windows masked at exactly `classic_rate`
    classic_rate: float = 0.15
    min_rate: float = 0.05  # the other windows draw their rate from U(min_rate, max_rate)
    max_rate: float = 1.0
    steps: int | None = None  # optimiser steps; None = until `minutes` is spent
    minutes: float | None = None  # wall-clock budget of training (evaluation excluded)
    eval_every: int = 200  # steps between held-out evaluations
    eval_windows: int = 256
    save_every_s: float = 300.0
    shuffle_buffer: int = 4096  # windows held and shuffled while streaming
    precision: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise ValueError("give a step budget (steps) or a time budget (minutes)")
        if self.batch_size % self.accumulate:
            raise ValueError("batch_size must be a multiple of accumulate")
        if not 0.0 < self.layer_decay <= 1.0:
            raise ValueError("layer_decay must be in (0, 1]")
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8")
        if not 0.0 < self.min_rate <= self.max_rate <= 1.0:
            raise ValueError("need 0 < min_rate <= max_rate <= 1")

    def budget_fraction(self, step: int, seconds: float) -> float:
        """How much of the budget is spent (drives the learning-rate decay and the stop)."""
        parts = []
        if self.steps is not None:
            parts.append(step / self.steps)
        if self.minutes is not None:
            parts.append(seconds / (60.0 * self.minutes))
        return max(parts)


def lr_factor(fraction: float, step: int, warmup_steps: int) -> float:
    """Linear warm-up over `warmup_steps`, then linear decay to 0 as the budget `fraction` reaches 1."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    return max(0.0, 1.0 - fraction)


def layer_of(name: str, n_layers: int) -> int:
    """Depth of a parameter for layer-wise decay: 0 embeddings, 1..L encoder layers, L+1 the rest."""
    if "embeddings" in name:
        return 0
    found = re.search(r"\.layer\.(\d+)\.", name)
    return int(found.group(1)) + 1 if found else n_layers + 1


def param_groups(model, config: PretrainConfig) -> list[dict]:
    n_layers = int(getattr(model.config, "num_hidden_layers", 0))
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    seen: set[int] = set()
    for name, param in model.named_parameters():
        if not param.requires_grad or id(param) in seen:
            continue
        seen.add(id(param))
        depth = layer_of(name, n_layers)
        rate = config.lr * config.layer_decay ** (n_layers + 1 - depth)
        if depth == n_layers + 1 and "embeddings" not in name and config.head_lr is not None:
            rate = config.head_lr
        decay = 0.0 if param.dim() < 2 or "LayerNorm" in name or "layer_norm" in name else config.weight_decay
        groups.setdefault((rate, decay), []).append(param)
    return [{"params": p, "lr": r, "weight_decay": d, "base_lr": r} for (r, d), p in groups.items()]

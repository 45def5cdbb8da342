"""The learning rates a run's settings (`PretrainConfig`, defined in training/pretrain_config.py) give:
the warm-up/decay factor, and the optimiser's parameter groups with layer-wise decay."""

from __future__ import annotations

import re

import torch

from training.pretrain_config import PretrainConfig

__all__ = ["PretrainConfig", "layer_of", "lr_factor", "param_groups"]


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

"""The settings of a pretraining run (`python -m training pretrain`), standard library only, so that
the command line takes its flags' defaults from here without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


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

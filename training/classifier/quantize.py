"""Dynamic int8 quantisation of a trained classifier for CPU inference."""

from __future__ import annotations

import warnings

import torch


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

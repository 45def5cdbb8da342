"""Which augmentation methods a worker runs, and how it builds each one.

`diffusioncls` is built here from the loaded checkpoint. The classic augmenters (EDA, AEDA,
resampling, MLM substitution) come from `training.augmenters.registry` once that module exists:
its `METHODS` (name -> description) joins the list below and `build_augmenter(name, params,
resources)` builds them, so adding a method there is the only step needed to serve it.

Listing the methods imports no torch (the service calls `method_descriptions()` on its request
path); building one may.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

DIFFUSION = "diffusioncls"
DIFFUSION_DESCRIPTION = (
    "DiffusionCLS: label-aware masking of the label-bearing words, then K-round diffusion decoding "
    "conditioned on the label (arXiv 2409.03203)"
)
CLASSIC_REGISTRY = "training.augmenters.registry"


@cache
def _classic_registry() -> ModuleType | None:
    try:
        return importlib.import_module(CLASSIC_REGISTRY)
    except ModuleNotFoundError as err:
        if err.name in (CLASSIC_REGISTRY, "training.augmenters", "training"):
            return None  # not written yet (or training not installed beside the service)
        raise


def method_descriptions() -> dict[str, str]:
    """Every method name this deployment serves -> one line saying what it does."""
    methods = {DIFFUSION: DIFFUSION_DESCRIPTION}
    registry = _classic_registry()
    if registry is not None:
        methods.update({name: str(text) for name, text in registry.METHODS.items() if name != DIFFUSION})
    return methods


@dataclass(frozen=True)
class WorkerResources:
    """What a method may build on: the loaded checkpoint (tokenizer, models) and its device."""

    checkpoint: Any  # training.checkpoint.Checkpoint
    device: Any  # torch.device


def build_classic(name: str, params: dict[str, Any], resources: WorkerResources) -> Any:
    """A classic augmenter behind the plain `Augmenter` interface (training/augmenters/base.py)."""
    registry = _classic_registry()
    if registry is None or name not in registry.METHODS:
        raise ValueError(f"unknown method {name!r}; this worker serves {sorted(method_descriptions())}")
    return registry.build_augmenter(name, params, resources)

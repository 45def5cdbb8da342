"""DiffusionCLS training package: data, noise schedule, generator, sampler, classifier, checkpoints.

The Python API (`Augmenter`, `Classifier`) is importable from here; it loads torch on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Augmenter", "Classifier", "__version__"]

if TYPE_CHECKING:
    from training.api import Augmenter, Classifier


def __getattr__(name: str) -> Any:
    # Lazy: `import training` (for __version__, or the CLI) must not import torch and transformers.
    if name in ("Augmenter", "Classifier"):
        from training import api

        return getattr(api, name)
    raise AttributeError(f"module 'training' has no attribute {name!r}")

"""Text augmenters behind one interface (`Augmenter` in base.py)."""

from training.augmenters.base import Augmentation, Augmenter, AugmentResult, ProgressFn, Shortfall

__all__ = ["Augmentation", "AugmentResult", "Augmenter", "ProgressFn", "Shortfall"]

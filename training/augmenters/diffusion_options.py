"""The per-call settings of DiffusionCLS sampling (`DiffusionOptions`): step range, decoding, attempts,
batch limits and the label filter. Re-exported by `training.augmenters.diffusion`, where callers
import it from."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.defaults import DECODING_KNOBS, DEFAULT_STEPS
from training.sampler import DecodeConfig


@dataclass(frozen=True)
class DiffusionOptions:
    steps: tuple[int, int] = DEFAULT_STEPS  # inclusive range of corruption steps t
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    max_attempts: int = 4  # decoding passes over the inputs still short of n before giving up
    batch_size: int = 64  # chains per forward pass, at most
    # Padded prompt tokens per forward pass, at most: bounds a decode's memory (the logits at masked
    # positions and top-p's sort of them grow with tokens, not with texts). 64 x 64 tokens by default;
    # a guided pass holds each prompt twice (its label and the null label) and counts it twice.
    max_batch_tokens: int = 4096
    score: bool = True  # add the classifier's probability of the intended label
    # Keep outputs the classifier gives the intended label at least this probability; the rest are
    # replaced by fresh draws (top-up) and, when the attempts run out, by the best of them, flagged
    # with provenance["below_min_label_prob"], so `n` outputs still come back. 0 = off.
    min_label_prob: float = 0.0
    # Rewrite masked words with whole-word pieces only (TextCodec.continuation_mask): no word glued
    # from a new start and the old word's tail. Off only to measure what it changes.
    whole_words: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_label_prob < 1.0:
            raise ValueError("min_label_prob must be in [0, 1)")
        if self.batch_size < 1 or self.max_batch_tokens < 1:
            raise ValueError("batch_size and max_batch_tokens must be at least 1")

    @classmethod
    def from_settings(cls, settings, **kwargs) -> DiffusionOptions:
        """Options from any object with steps and an attribute per decoding knob (DECODING_KNOBS: a
        checkpoint's SamplerDefaults, a decoding-study setting); `kwargs` set the other fields."""
        decode = DecodeConfig(**{name: getattr(settings, name) for name in DECODING_KNOBS})
        return cls(steps=tuple(settings.steps), decode=decode, **kwargs)

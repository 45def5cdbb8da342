"""What every augmenter returns, and the one interface they share.

An augmenter turns labelled texts into new labelled texts: `counts[i]` new texts for input i,
distinct from each other, from the input and from `exclude[i]`. When it cannot, it reports a
`Shortfall` and never pads with copies. All randomness derives from `seed`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

ProgressFn = Callable[[int, int], None]
"""progress(outputs accepted so far, outputs requested)."""


@dataclass(kw_only=True)
class Augmentation:
    source_index: int
    text: str
    label: str
    provenance: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class Shortfall:
    """An input (source_index >= 0) or a whole class (source_index -1, `label` set) left short."""

    source_index: int
    requested: int
    produced: int
    reason: str
    label: str | None = None


@dataclass
class AugmentResult:
    augmentations: list[Augmentation]
    shortfalls: list[Shortfall]
    stats: dict


class Augmenter(Protocol):
    @property
    def name(self) -> str: ...

    def augment(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        counts: Sequence[int],
        *,
        seed: int,
        progress: ProgressFn | None = None,
        exclude: Sequence[Iterable[str]] | None = None,
    ) -> AugmentResult: ...


def check_request(texts: Sequence[str], labels: Sequence[str], counts: Sequence[int]) -> None:
    if not len(texts) == len(labels) == len(counts):
        raise ValueError("texts, labels and counts must have the same length")
    if any(c < 0 for c in counts):
        raise ValueError("counts must be >= 0")


def same_text_key(text: str, casefold: bool) -> str:
    """The form under which two outputs count as the same text (whitespace runs collapsed)."""
    text = " ".join(text.split())
    return text.casefold() if casefold else text

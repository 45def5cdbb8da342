"""The distinctness rule shared by the classic augmenters: draw until each input has its n new texts.

Every try draws from its own `random.Random`, seeded by (method, seed, item, try), so an output
depends on the call's seed and its input's position only, never on the other inputs of the call.
A candidate is accepted when it differs from the input, from `exclude[i]` and from every output
already accepted for that input (compared under `normalise`). After the try budget a shortfall is
reported; nothing is padded.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from training.augmenters.base import (
    Augmentation,
    AugmentResult,
    ProgressFn,
    Shortfall,
    check_request,
    same_text_key,
)
from training.common import derive_seed


def casefolded_key(text: str) -> str:
    """Default sameness for rule-based outputs: whitespace runs collapsed, case ignored."""
    return same_text_key(text, casefold=True)


def try_rng(method: str, seed: int, item: int, *, try_index: int) -> random.Random:
    return random.Random(derive_seed(method, seed, item, try_index))


@dataclass
class _Item:
    needed: int
    seen: set[str]
    accepted: list[Augmentation] = field(default_factory=list)
    tries: int = 0

    @property
    def missing(self) -> int:
        return self.needed - len(self.accepted)


class DistinctCollector:
    """Per-input bookkeeping: what has been seen, what was accepted, how many tries were spent."""

    def __init__(
        self,
        method: str,
        seed: int,
        texts: Sequence[str],
        *,
        labels: Sequence[str],
        counts: Sequence[int],
        exclude: Sequence[Iterable[str]] | None,
        normalise: Callable[[str], str] = casefolded_key,
    ):
        check_request(texts, labels, counts)
        if exclude is not None and len(exclude) != len(texts):
            raise ValueError("exclude must hold one collection of texts per input")
        self.method, self.seed = method, seed
        self.labels = labels
        self.normalise = normalise
        self.items = []
        for i, text in enumerate(texts):
            seen = {normalise(text)}
            seen.update(normalise(t) for t in (exclude[i] if exclude is not None else ()))
            self.items.append(_Item(needed=counts[i], seen=seen))
        self.requested = sum(counts)
        self.shortfalls: list[Shortfall] = []
        self.started = time.perf_counter()

    def missing(self, item: int) -> int:
        return max(0, self.items[item].missing)

    def give_up(self, item: int, reason: str) -> None:
        """Nothing can be made for this input (no words to act on, say): report it now."""
        state = self.items[item]
        if state.needed:
            self.shortfalls.append(
                Shortfall(
                    source_index=item, requested=state.needed, produced=len(state.accepted), reason=reason
                )
            )
        state.needed = len(state.accepted)

    def offer(self, item: int, try_index: int, text: str | None, *, facts: dict) -> bool:
        """Count one try; accept `text` when it is new for this input. Returns whether it was."""
        state = self.items[item]
        state.tries += 1
        if text is None or state.missing <= 0:
            return False
        key = self.normalise(text)
        if key in state.seen:
            return False
        state.seen.add(key)
        provenance = {"method": self.method, "seed": self.seed, "try": try_index, **facts}
        state.accepted.append(
            Augmentation(source_index=item, text=text, label=self.labels[item], provenance=provenance)
        )
        return True

    def progress(self, callback: ProgressFn | None) -> None:
        if callback is not None:
            callback(sum(len(s.accepted) for s in self.items), self.requested)

    def result(self, **stats) -> AugmentResult:
        shortfalls = list(self.shortfalls)
        for i, state in enumerate(self.items):
            if state.missing > 0:
                reason = f"only {len(state.accepted)} distinct new texts in {state.tries} tries"
                shortfalls.append(
                    Shortfall(
                        source_index=i, requested=state.needed, produced=len(state.accepted), reason=reason
                    )
                )
        augmentations = [a for s in self.items for a in s.accepted]
        summary = {
            "requested": self.requested,
            "produced": len(augmentations),
            "tries": sum(s.tries for s in self.items),
            **stats,
            "seconds": round(time.perf_counter() - self.started, 3),
        }
        return AugmentResult(augmentations, sorted(shortfalls, key=lambda s: s.source_index), summary)


Proposal = tuple[str, dict] | None
"""A candidate text and its method-specific provenance, or None when the try changed nothing."""

ProposeFn = Callable[[int, int, random.Random], Proposal]
"""propose(item, try_index, rng) -> candidate for input `item`, drawing only from `rng`."""


def draw_until_distinct(
    method: str,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    counts: Sequence[int],
    seed: int,
    propose: ProposeFn,
    tries_per_output: int,
    progress: ProgressFn | None = None,
    exclude: Sequence[Iterable[str]] | None = None,
    impossible: Callable[[int], str | None] | None = None,
    normalise: Callable[[str], str] = casefolded_key,
) -> AugmentResult:
    """The loop of every rule-based augmenter: for each input, tries 0, 1, 2, ... until it has
    counts[i] distinct new texts or has spent tries_per_output * counts[i] tries.

    impossible(i) returns a reason when input i cannot give anything at all (reported at once).
    """
    if tries_per_output < 1:
        raise ValueError("tries_per_output must be >= 1")
    collector = DistinctCollector(
        method, seed, texts, labels=labels, counts=counts, exclude=exclude, normalise=normalise
    )
    for item in range(len(texts)):
        if not counts[item]:
            continue
        reason = impossible(item) if impossible is not None else None
        if reason is not None:
            collector.give_up(item, reason)
            continue
        for try_index in range(tries_per_output * counts[item]):
            if not collector.missing(item):
                break
            candidate = propose(item, try_index, try_rng(method, seed, item, try_index=try_index))
            if candidate is None:
                collector.offer(item, try_index, None, facts={})
            else:
                collector.offer(item, try_index, candidate[0], facts=candidate[1])
        collector.progress(progress)
    return collector.result()


ImpossibleFn = Callable[[int], str | None]
"""impossible(item) -> why input `item` can give no new text at all, or None."""


class DrawingAugmenter:
    """A rule-based augmenter (EDA, AEDA): it proposes one rewrite of an input at a time and
    `draw_until_distinct` keeps the distinct ones. Subclasses say how to propose (`proposer`)."""

    name: str
    tries_per_output: int

    def proposer(self, texts: Sequence[str], seed: int) -> tuple[ProposeFn, ImpossibleFn]:
        """(propose, impossible) for these inputs; both may cache per-input work between tries."""
        raise NotImplementedError

    def augment(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        counts: Sequence[int],
        *,
        seed: int,
        progress: ProgressFn | None = None,
        exclude: Sequence[Iterable[str]] | None = None,
    ) -> AugmentResult:
        propose, impossible = self.proposer(texts, seed)
        return draw_until_distinct(
            self.name,
            texts,
            labels,
            counts=counts,
            seed=seed,
            propose=propose,
            tries_per_output=self.tries_per_output,
            progress=progress,
            exclude=exclude,
            impossible=impossible,
        )

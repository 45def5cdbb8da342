"""Which decoded outputs a `DiffusionAugmenter` call keeps, per input (ALGORITHM.md section 5).

Every input has a state: how many outputs it needs, the texts it must not produce (itself, an earlier
call's outputs, what it already produced), and its new outputs. With a `min_label_prob`, the
classifier scores each attempt's new outputs: those it gives the intended label less than that
probability go to a reserve and fresh draws replace them (the top-up); when the attempts run out, the
best of the reserve make up the count, flagged as such.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from training.augmenters.base import Augmentation, Shortfall
from training.classifier import ClassifierRunner
from training.text import EncodedText, TextCodec


@dataclass
class ItemState:
    """One input of an `augment` call: what it needs, and what it has produced so far."""

    needed: int
    seen: set[str]
    next_chain: int = 0
    accepted: list[Augmentation] = field(default_factory=list)
    fresh: list[Augmentation] = field(default_factory=list)  # new this attempt, not yet filtered
    reserve: list[Augmentation] = field(default_factory=list)  # new but below min_label_prob
    chains_tried: int = 0


def item_states(
    codec: TextCodec,
    encoded: Sequence[EncodedText],
    counts: Sequence[int],
    *,
    exclude: Sequence[Iterable[str]] | None,
) -> tuple[list[ItemState], list[Shortfall]]:
    """Per input, what it needs and the texts it must not produce (itself, `exclude`); and the
    shortfalls of inputs with nothing the generator can rewrite (they need nothing more)."""
    states, shortfalls = [], []
    for i, e in enumerate(encoded):
        seen = {codec.normalise(e.text), codec.normalise(codec.decode_run(e.ids))}
        seen.update(codec.normalise(t) for t in (exclude[i] if exclude else ()))
        states.append(ItemState(needed=counts[i], seen=seen))
        if counts[i] and not any(e.maskable):
            shortfalls.append(
                Shortfall(
                    source_index=i,
                    requested=counts[i],
                    produced=0,
                    reason="the text has no tokens the generator can rewrite",
                )
            )
            states[i].needed = 0
    return states, shortfalls


def filter_fresh(states: Sequence[ItemState], scorer: ClassifierRunner | None, min_label_prob: float) -> None:
    """Move this attempt's new outputs into `accepted` (up to the count), or into the reserve when
    the classifier gives their intended label less than `min_label_prob`."""
    fresh = [a for s in states for a in s.fresh]
    if fresh and min_label_prob > 0 and scorer is not None:
        score_augmentations(scorer, fresh)
    for state in states:
        for a in state.fresh:
            if len(state.accepted) >= state.needed:
                break
            prob = a.provenance.get("label_prob", 1.0)
            if min_label_prob > 0 and not prob >= min_label_prob:
                state.reserve.append(a)
            else:
                state.accepted.append(a)
        state.fresh = []


def settle(states: Sequence[ItemState]) -> list[Shortfall]:
    """When the attempts have run out: the best off-label outputs make up each input's count, flagged
    as such; the inputs still short are reported."""
    shortfalls = []
    for i, state in enumerate(states):
        state.reserve.sort(key=lambda a: -a.provenance["label_prob"])
        for a in state.reserve[: max(0, state.needed - len(state.accepted))]:
            a.provenance["below_min_label_prob"] = True
            state.accepted.append(a)
        if len(state.accepted) < state.needed:
            reason = f"only {len(state.accepted)} distinct new texts in {state.chains_tried} tries"
            shortfalls.append(
                Shortfall(source_index=i, requested=state.needed, produced=len(state.accepted), reason=reason)
            )
    return shortfalls


def score_augmentations(scorer: ClassifierRunner, augmentations: list[Augmentation]) -> None:
    """Add the classifier's probability of each intended label and its predicted label."""
    probs = scorer.predict_proba([a.text for a in augmentations])
    names = scorer.label_names
    index = {name: i for i, name in enumerate(names)}
    for a, row in zip(augmentations, probs, strict=True):
        a.provenance["label_prob"] = round(float(row[index[a.label]]), 4) if a.label in index else math.nan
        a.provenance["predicted_label"] = names[int(row.argmax())]

"""How many new texts each original gets: G/E (n each) and B/D (balance the classes)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence

from training.augmenters.base import Augmenter, AugmentResult, ProgressFn, Shortfall

POLICIES = ("ge", "bd")


def each_counts(n_items: int, n: int) -> list[int]:
    """G/E: n new texts per original."""
    if n < 0:
        raise ValueError("n must be >= 0")
    return [n] * n_items


def balance_counts(labels: Sequence[str], seed: int, eligible: Sequence[bool] | None = None) -> list[int]:
    """B/D: new texts per original so that every class reaches the size of the largest.

    A class of m originals short by d gets d // m from each original and one more from d % m of
    them, chosen with the seed. Originals with eligible[i] False get nothing.
    """
    counts = Counter(labels)
    target = max(counts.values())
    return _spread(
        {label: target - count for label, count in counts.items()}, labels, seed, eligible=eligible
    )


def _spread(
    deficit: dict[str, int], labels: Sequence[str], seed: int, *, eligible: Sequence[bool] | None
) -> list[int]:
    rng = random.Random(seed)
    members: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        if eligible is None or eligible[i]:
            members[label].append(i)
    out = [0] * len(labels)
    for label in sorted(deficit):
        need, group = deficit[label], members.get(label, [])
        if need <= 0 or not group:
            continue
        share, extra = divmod(need, len(group))
        lucky = set(rng.sample(group, extra))
        for i in group:
            out[i] = share + (1 if i in lucky else 0)
    return out


def augment_balanced(
    augmenter: Augmenter,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int,
    top_up_rounds: int = 2,
    progress: ProgressFn | None = None,
) -> AugmentResult:
    """B/D with top-ups: what short originals could not give is asked of their classmates.

    Returns one merged result; the shortfalls left are per class (source_index -1, label set) when
    a class still cannot reach the target.
    """
    counts = balance_counts(labels, seed)
    result = augmenter.augment(texts, labels, counts, seed=seed, progress=progress)
    produced = [list[str]() for _ in texts]
    for a in result.augmentations:
        produced[a.source_index].append(a.text)
    exhausted = {s.source_index for s in result.shortfalls}
    merged = list(result.augmentations)
    stats = dict(result.stats)
    target = max(Counter(labels).values())
    for round_index in range(1, top_up_rounds + 1):
        have = Counter(labels)
        have.update(a.label for a in merged)
        deficit = {label: target - have[label] for label in have if have[label] < target}
        if not deficit:
            break
        eligible = [i not in exhausted for i in range(len(texts))]
        extra = _spread(deficit, labels, seed + round_index, eligible=eligible)
        if not any(extra):
            break
        # A derived seed draws fresh randomness; `exclude` keeps the new texts apart from the old.
        more = augmenter.augment(
            texts, labels, extra, seed=seed + 7_919 * round_index, progress=progress, exclude=produced
        )
        for a in more.augmentations:
            produced[a.source_index].append(a.text)
        merged.extend(more.augmentations)
        exhausted |= {s.source_index for s in more.shortfalls}
        for key, value in more.stats.items():
            if isinstance(value, int | float):
                stats[key] = round(stats.get(key, 0) + value, 3)
    have = Counter(labels)
    have.update(a.label for a in merged)
    shortfalls = [
        Shortfall(
            source_index=-1,
            requested=target,
            produced=have[label],
            reason=f"class {label!r} is {target - have[label]} short of {target}",
            label=label,
        )
        for label in sorted(have)
        if have[label] < target
    ]
    merged.sort(key=lambda a: a.source_index)  # stable: each input's outputs keep their order
    return AugmentResult(merged, shortfalls, stats)

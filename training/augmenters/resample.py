"""Resampling: plain random oversampling, the baseline every augmenter is compared against.

Its "new texts" are copies of the input BY DESIGN: this is the one method exempt from the rule
that outputs differ from their input and from each other (and it ignores `exclude`). It draws
nothing at random itself: which originals get copied, and how often, is the policy's choice
(`training.policies`: G/E copies each original n times; B/D tops the minority classes up with
originals drawn with the seed), so the benchmark can put "n more of the same" beside every method.
Every output's provenance says it is a copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from training.augmenters.base import Augmentation, AugmentResult, ProgressFn, check_request

EXEMPTION = "resampling copies its input by design (exempt from the distinct-and-new rule)"


class ResampleAugmenter:
    name = "resample"

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
        check_request(texts, labels, counts)
        augmentations = [
            Augmentation(
                source_index=i,
                text=texts[i],
                label=labels[i],
                provenance={
                    "method": self.name,
                    "seed": seed,
                    "try": k,
                    "copy_of_input": True,
                    "note": EXEMPTION,
                },
            )
            for i in range(len(texts))
            for k in range(counts[i])
        ]
        if progress is not None:
            progress(len(augmentations), sum(counts))
        stats = {"requested": sum(counts), "produced": len(augmentations), "tries": len(augmentations)}
        return AugmentResult(augmentations, [], stats)

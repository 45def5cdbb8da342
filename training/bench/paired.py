"""Paired comparison of two classifiers run on the same seeds and test sets: the mean macro-F1
difference, a bootstrap interval over seeds and test examples, and the seeds each side won.

Why both levels: with 3-5 seeds the spread between seeds (3-12 points here) dominates, and with one
seed the test set's sampling noise does. A hierarchical bootstrap resamples seeds with replacement,
then the test examples of each drawn seed with replacement, and recomputes the mean difference; the
2.5th and 97.5th percentiles of 2,000 such draws are the 95% interval. A difference counts as
significant only when the interval excludes 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from training.metrics import macro_f1


def paired_bootstrap(
    gold: Sequence[Sequence[int]],
    *,
    baseline: Sequence[Sequence[int]],
    method: Sequence[Sequence[int]],
    n_classes: int,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict:
    """Per seed s: gold[s], baseline[s], method[s] are label indices of the same test examples.

    Returns delta (mean over seeds of F1(method) - F1(baseline)), its interval (low, high), the seeds
    the method won (F1 strictly higher), and whether the interval excludes 0."""
    seeds = len(gold)
    if not seeds or not (len(baseline) == len(method) == seeds):
        raise ValueError("need the same seeds, at least one, for gold, baseline and method")
    g = [np.asarray(x, dtype=np.int64) for x in gold]
    b = [np.asarray(x, dtype=np.int64) for x in baseline]
    m = [np.asarray(x, dtype=np.int64) for x in method]
    for gs, bs, ms in zip(g, b, m, strict=True):
        if not (len(gs) == len(bs) == len(ms)) or not len(gs):
            raise ValueError("each seed needs one prediction per test example, and at least one example")
    per_seed = [
        macro_f1(gs, ms, n_classes) - macro_f1(gs, bs, n_classes) for gs, bs, ms in zip(g, b, m, strict=True)
    ]
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for r in range(resamples):
        total = 0.0
        for s in rng.integers(0, seeds, seeds):
            idx = rng.integers(0, len(g[s]), len(g[s]))
            total += macro_f1(g[s][idx], m[s][idx], n_classes) - macro_f1(g[s][idx], b[s][idx], n_classes)
        draws[r] = total / seeds
    tail = (1.0 - level) / 2
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return {
        "delta": float(np.mean(per_seed)),
        "low": float(low),
        "high": float(high),
        "level": level,
        "seeds": seeds,
        "seeds_won": int(sum(d > 0 for d in per_seed)),
        "significant": bool(low > 0 or high < 0),
    }


def paired_runs(runs: Sequence[Mapping], baseline: str, method: str) -> dict | None:
    """`paired_bootstrap` of `method` against `baseline` over the seeds both ran, from quality-bench
    records (method, seed, gold, predictions, n_classes); None when they share no seed, or when a
    record predates kept predictions."""
    by = {(r["method"], r["seed"]): r for r in runs}
    seeds = [s for (m, s) in by if m == method and (baseline, s) in by]  # in the order the run made them
    if not seeds or any("predictions" not in by[(m, s)] for m in (baseline, method) for s in seeds):
        return None
    result = paired_bootstrap(
        [by[(baseline, s)]["gold"] for s in seeds],
        baseline=[by[(baseline, s)]["predictions"] for s in seeds],
        method=[by[(method, s)]["predictions"] for s in seeds],
        n_classes=by[(method, seeds[0])]["n_classes"],
    )
    return {**result, "baseline": baseline, "method": method}

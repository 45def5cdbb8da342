import random

import numpy as np
import pytest

from training.bench.paired import paired_bootstrap
from training.metrics import confusion_matrix, macro_f1, per_class


def reference_macro_f1(gold, pred, n_classes):
    """Macro-F1 the long way: per-class F1 from the confusion matrix, averaged over present classes."""
    matrix = confusion_matrix(gold, pred, n_classes)
    present = [c for c in range(n_classes) if sum(matrix[c]) or any(row[c] for row in matrix)]
    rows = per_class(matrix)
    return sum(rows[c]["f1"] for c in present) / len(present) if present else 0.0


def test_macro_f1_by_hand():
    # gold 0 0 1 1 2, predicted 0 1 1 1 0:
    # class 0: tp 1, support 2, predicted 2 -> F1 2*1/(2+2) = 0.5
    # class 1: tp 2, support 2, predicted 3 -> F1 4/5 = 0.8
    # class 2: tp 0, support 1, predicted 0 -> F1 0 (present in gold)
    gold, pred = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    assert macro_f1(gold, pred, 4) == pytest.approx((0.5 + 0.8 + 0.0) / 3)  # class 3 absent: not averaged


def test_macro_f1_matches_the_reference_implementation():
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(1, 40)
        gold = [rng.randrange(4) for _ in range(n)]
        pred = [rng.randrange(4) for _ in range(n)]
        assert macro_f1(np.array(gold), np.array(pred), 4) == pytest.approx(reference_macro_f1(gold, pred, 4))


def test_identical_classifiers_differ_by_exactly_zero():
    gold = [[0, 1, 0, 1, 1], [1, 0, 0, 1, 0]]
    preds = [[0, 1, 1, 1, 0], [1, 1, 0, 1, 0]]
    ci = paired_bootstrap(gold, baseline=preds, method=preds, n_classes=2, resamples=200)
    assert (ci["delta"], ci["low"], ci["high"]) == (0.0, 0.0, 0.0)
    assert ci["seeds_won"] == 0 and not ci["significant"]


def test_always_right_against_always_wrong_is_a_difference_of_one():
    # whatever examples a draw takes, the method is perfect (F1 1) and the baseline gets every one
    # wrong (F1 0), so every draw, and the interval, is exactly +1
    gold = [[0, 1, 0, 1], [1, 1, 0, 0]]
    wrong = [[1 - g for g in seed] for seed in gold]
    ci = paired_bootstrap(gold, baseline=wrong, method=gold, n_classes=2, resamples=200)
    assert (ci["delta"], ci["low"], ci["high"]) == (1.0, 1.0, 1.0)
    assert ci["seeds_won"] == 2 and ci["significant"]


def test_seed_spread_widens_the_interval():
    # one seed gains, another loses as much: the mean is 0 and the interval straddles it
    gold = [[0, 1] * 20, [0, 1] * 20]
    good, bad = [[0, 1] * 20, [1, 0] * 20], [[1, 0] * 20, [0, 1] * 20]
    ci = paired_bootstrap(gold, baseline=bad, method=good, n_classes=2, resamples=500)
    assert ci["delta"] == pytest.approx(0.0)
    assert ci["low"] < 0 < ci["high"] and not ci["significant"] and ci["seeds_won"] == 1


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError):
        paired_bootstrap([[0, 1]], baseline=[[0, 1]], method=[[0]], n_classes=2)
    with pytest.raises(ValueError):
        paired_bootstrap([], baseline=[], method=[], n_classes=2)

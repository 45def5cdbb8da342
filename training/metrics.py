"""Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(gold: Sequence[int], predicted: Sequence[int], n_classes: int) -> list[list[int]]:
    """matrix[g][p] = number of items of gold class g predicted as p."""
    matrix = [[0] * n_classes for _ in range(n_classes)]
    for g, p in zip(gold, predicted, strict=True):
        matrix[g][p] += 1
    return matrix


def per_class(matrix: list[list[int]]) -> list[dict[str, float]]:
    """Precision, recall, F1 and support of every class; 0 where undefined (no predictions/support)."""
    n = len(matrix)
    rows = []
    for c in range(n):
        tp = matrix[c][c]
        predicted = sum(matrix[g][c] for g in range(n))
        support = sum(matrix[c])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"precision": precision, "recall": recall, "f1": f1, "support": support})
    return rows


def accuracy(gold: Sequence[int], predicted: Sequence[int]) -> float:
    if not gold:
        raise ValueError("no items to score")
    return sum(int(g == p) for g, p in zip(gold, predicted, strict=True)) / len(gold)


def macro_f1(
    gold: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray, n_classes: int
) -> float:
    """Unweighted mean F1 over the classes that occur in gold or predictions.

    Vectorised: the paired bootstrap of the quality bench calls it thousands of times per run."""
    gold, predicted = np.asarray(gold, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if gold.shape != predicted.shape:
        raise ValueError("gold and predicted need the same length")
    matrix = np.bincount(gold * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, -1)
    tp = np.diag(matrix).astype(float)
    support, predicted_count = matrix.sum(1), matrix.sum(0)
    present = (support + predicted_count) > 0
    if not present.any():
        return 0.0
    # F1 = 2 tp / (support + predicted): the harmonic mean of precision and recall, 0 where both are 0
    f1 = np.divide(2 * tp, support + predicted_count, out=np.zeros_like(tp), where=present)
    return float(f1[present].mean())


def classification_report(gold: Sequence[int], predicted: Sequence[int], names: Sequence[str]) -> dict:
    matrix = confusion_matrix(gold, predicted, len(names))
    return {
        "accuracy": accuracy(gold, predicted),
        "macro_f1": macro_f1(gold, predicted, len(names)),
        "per_class": {name: row for name, row in zip(names, per_class(matrix), strict=True)},
        "confusion_matrix": {"labels": list(names), "matrix": matrix},
        "n": len(gold),
    }

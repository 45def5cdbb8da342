"""Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence


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


def macro_f1(gold: Sequence[int], predicted: Sequence[int], n_classes: int) -> float:
    """Unweighted mean F1 over the classes that occur in gold or predictions."""
    matrix = confusion_matrix(gold, predicted, n_classes)
    present = [c for c in range(n_classes) if sum(matrix[c]) or any(matrix[g][c] for g in range(n_classes))]
    rows = per_class(matrix)
    return sum(rows[c]["f1"] for c in present) / len(present) if present else 0.0


def classification_report(gold: Sequence[int], predicted: Sequence[int], names: Sequence[str]) -> dict:
    matrix = confusion_matrix(gold, predicted, len(names))
    return {
        "accuracy": accuracy(gold, predicted),
        "macro_f1": macro_f1(gold, predicted, len(names)),
        "per_class": {name: row for name, row in zip(names, per_class(matrix), strict=True)},
        "confusion_matrix": {"labels": list(names), "matrix": matrix},
        "n": len(gold),
    }

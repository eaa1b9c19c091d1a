"""Metrics: how good the predictions are, in the numbers people report."""

from __future__ import annotations

import numpy as np


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of class ids predicted exactly."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``matrix[i, j]`` counts samples of true class i predicted as class j."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def precision_recall_f1(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall and F1 from a confusion matrix (0 where undefined)."""
    true_positives = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((np.asarray(y_pred, dtype=np.float64) - y_true) ** 2))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y_pred, dtype=np.float64) - y_true)))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot, over all outputs together."""
    y_true = np.asarray(y_true, dtype=np.float64)
    residual = np.sum((y_true - y_pred) ** 2)
    total = np.sum((y_true - y_true.mean(axis=0)) ** 2)
    return float(1 - residual / total) if total > 0 else float("nan")


def classification_report(matrix: np.ndarray, class_names: list[str] | None = None) -> str:
    """A text table of per-class precision, recall, F1 and support."""
    scores = precision_recall_f1(matrix)
    names = class_names or [str(index) for index in range(len(matrix))]
    width = max(5, *(len(name) for name in names))
    lines = [f"{'class'.rjust(width)}  precision  recall  f1-score  support"]
    for index, name in enumerate(names):
        lines.append(
            f"{name.rjust(width)}  {scores['precision'][index]:9.4f}  {scores['recall'][index]:6.4f}"
            f"  {scores['f1'][index]:8.4f}  {int(scores['support'][index]):7d}"
        )
    return "\n".join(lines)

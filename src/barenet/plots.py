"""The pictures of a run, as PNG files: learning curves, confusion matrix, image grids,
first-layer weights, and a regression's fit.

Figures are made with ``matplotlib.figure.Figure`` and rendered by the Agg canvas, never
through ``pyplot``: no window opens, no GUI backend is needed, and a notebook's own
matplotlib settings are left alone. Each file is written atomically.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .atomic import write_atomic


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Render ``figure`` to PNG and write it to ``path`` atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return write_atomic(path, buffer.getvalue())


def plot_history(history: dict[str, list[float]], path: str | Path) -> Path:
    """Loss, and accuracy or R², per epoch, training and validation side by side."""
    panels = ["loss"] + [name for name in ("accuracy", "r2") if name in history]
    figure = Figure(figsize=(5.5 * len(panels), 4))
    for index, name in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        for prefix, label in (("", "training"), ("val_", "validation")):
            values = history.get(prefix + name)
            if values:
                axes.plot(
                    range(1, len(values) + 1), values, label=label, marker="." if len(values) < 40 else None
                )
        positive = [value for value in history[name] if value > 0]
        if name == "loss" and positive and max(positive) > 50 * min(positive):
            axes.set_yscale("log")
        axes.set_xlabel("epoch")
        axes.set_title({"r2": "R²"}.get(name, name))
        axes.grid(alpha=0.3)
        axes.legend()
    return save_figure(figure, path)


def plot_confusion_matrix(
    matrix: np.ndarray, path: str | Path, class_names: Sequence[str] | None = None
) -> Path:
    """Counts of true class (rows) against predicted class (columns), annotated."""
    n_classes = len(matrix)
    names = list(class_names) if class_names is not None else [str(index) for index in range(n_classes)]
    size = max(4.5, 0.55 * n_classes + 2)
    figure = Figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in range(n_classes):
        for column in range(n_classes):
            count = matrix[row, column]
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > threshold else "black",
            )
    axes.set_xticks(range(n_classes), names, rotation=45 if max(map(len, names)) > 2 else 0)
    axes.set_yticks(range(n_classes), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axes.set_title(f"confusion matrix (accuracy {accuracy:.2%})")
    return save_figure(figure, path)


def plot_image_grid(
    images: np.ndarray,
    captions: Sequence[str],
    path: str | Path,
    title: str,
    image_shape: tuple[int, int] = (28, 28),
) -> Path:
    """Images (rows of pixels) in a square-ish grid, each with its caption underneath."""
    count = len(images)
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    figure = Figure(figsize=(1.3 * columns, 1.45 * rows + 0.5))
    figure.suptitle(title)
    for index in range(rows * columns):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.axis("off")
        if index < count:
            axes.imshow(np.asarray(images[index]).reshape(image_shape), cmap="gray")
            axes.set_title(captions[index], fontsize=8)
    return save_figure(figure, path)


def plot_first_layer_weights(
    weight: np.ndarray, path: str | Path, image_shape: tuple[int, int] = (28, 28), max_units: int = 64
) -> Path:
    """Each first-layer unit's incoming weights (a column of ``weight``) shown as an image:
    the pattern the unit responds to. Red is positive, blue negative."""
    units = weight[:, :max_units].T
    columns = math.ceil(math.sqrt(len(units)))
    rows = math.ceil(len(units) / columns)
    figure = Figure(figsize=(1.1 * columns, 1.1 * rows + 0.5))
    figure.suptitle(f"first-layer weights of {len(units)} of {weight.shape[1]} units")
    for index, unit in enumerate(units):
        axes = figure.add_subplot(rows, columns, index + 1)
        limit = float(np.abs(unit).max()) or 1.0
        axes.imshow(unit.reshape(image_shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.axis("off")
    return save_figure(figure, path)


def plot_regression_fit(x: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, path: str | Path) -> Path:
    """With one input: the target and the model's curve against x. Otherwise the prediction
    against the target, where a perfect model lies on the diagonal."""
    figure = Figure(figsize=(6, 4.5))
    axes = figure.add_subplot()
    y_true, y_pred = np.asarray(y_true).reshape(len(y_true), -1), np.asarray(y_pred).reshape(len(y_pred), -1)
    if x.shape[1] == 1 and y_true.shape[1] == 1:
        order = np.argsort(x[:, 0])
        axes.scatter(x[:, 0], y_true[:, 0], s=6, alpha=0.5, label="target", color="tab:gray")
        axes.plot(x[order, 0], y_pred[order, 0], color="tab:red", linewidth=2, label="prediction")
        axes.set_xlabel("x")
        axes.set_ylabel("y")
    else:
        axes.scatter(y_true.ravel(), y_pred.ravel(), s=6, alpha=0.5)
        low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
        axes.plot([low, high], [low, high], color="tab:red", linewidth=1, label="perfect prediction")
        axes.set_xlabel("target")
        axes.set_ylabel("prediction")
    mse = float(np.mean((y_true - y_pred) ** 2))
    axes.set_title(f"test set: target and prediction (MSE {mse:.2e})")
    axes.grid(alpha=0.3)
    axes.legend()
    return save_figure(figure, path)


def plot_samples(x: np.ndarray, y: np.ndarray, path: str | Path, title: str, classes: bool) -> Path:
    """Samples as points: two features coloured by class, or one feature against its target."""
    figure = Figure(figsize=(5.5, 5))
    axes = figure.add_subplot()
    if classes:
        for label in np.unique(y):
            chosen = y == label
            axes.scatter(x[chosen, 0], x[chosen, 1], s=8, label=f"class {label}")
        axes.set_aspect("equal")
        axes.legend()
    else:
        axes.scatter(x[:, 0], np.asarray(y)[:, 0], s=6, alpha=0.6)
        axes.set_xlabel("x")
        axes.set_ylabel("y")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return save_figure(figure, path)

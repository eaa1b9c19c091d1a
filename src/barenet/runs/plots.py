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
from typing import TYPE_CHECKING

import numpy as np

from ..saving.atomic import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(**options) -> Figure:
    """A matplotlib ``Figure(**options)``. matplotlib is imported here, on first use, so that
    commands which draw nothing start fast."""
    from matplotlib.figure import Figure

    return Figure(**options)


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Render ``figure`` to PNG and write it to ``path`` atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return write_atomic(path, buffer.getvalue())


def plot_history(history: dict[str, list[float]], path: str | Path) -> Path:
    """Loss, and accuracy or R², per epoch, training and validation side by side."""
    panels = ["loss"] + [name for name in ("accuracy", "r2") if name in history]
    figure = new_figure(figsize=(5.5 * len(panels), 4))
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
    matrix: np.ndarray, path: str | Path, class_names: Sequence[str] | None = None, data: str = "test set"
) -> Path:
    """Counts of true class (rows) against predicted class (columns), annotated. The colour is
    the cell's share of its row (of the true class) on a log scale, so that 9 errors among
    1,000 show as clearly as the diagonal; empty cells stay white. ``data`` names the images
    counted, for the title (e.g. "mnist test set")."""
    return save_figure(confusion_figure(matrix, class_names, data), path)


def confusion_figure(matrix: np.ndarray, class_names: Sequence[str] | None, data: str) -> Figure:
    """The figure :func:`plot_confusion_matrix` saves."""
    from matplotlib.colors import LogNorm

    n_classes = len(matrix)
    names = list(class_names) if class_names is not None else [str(index) for index in range(n_classes)]
    size = max(4.5, 0.55 * n_classes + 2)
    figure = new_figure(figsize=(size + 1.4, size))
    axes = figure.add_subplot()
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    floor = 10 ** math.floor(math.log10(1 / max(int(matrix.sum(axis=1).max()), 10)))  # one image of a row
    norm = LogNorm(vmin=floor, vmax=1, clip=True)
    image = axes.imshow(np.ma.masked_equal(shares, 0), cmap=matplotlib_colormap("Blues"), norm=norm)
    bar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    bar.set_label("share of the true class (log scale)")
    for row in range(n_classes):
        for column in range(n_classes):
            count = matrix[row, column]
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8 if n_classes > 6 else 11,
                color="white" if count and norm(shares[row, column]) > 0.6 else "black",
            )
    axes.set_xticks(range(n_classes), names, rotation=45 if max(map(len, names)) > 2 else 0)
    axes.set_yticks(range(n_classes), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    total = int(matrix.sum())
    accuracy = np.trace(matrix) / max(total, 1)
    axes.set_title(f"confusion matrix: {data}, {total:,} images, accuracy {accuracy:.2%}")
    return figure


def plot_image_grid(
    images: np.ndarray,
    captions: Sequence[str],
    path: str | Path,
    title: str,
    image_shape: tuple[int, int] = (28, 28),
) -> Path:
    """Images (rows of pixels, shape ``(n, height*width)``) in a square-ish grid, each with its
    caption above it and on its own gray scale. Drawn as one mosaic image (one axes instead
    of one per image: many times faster to render)."""
    count = len(images)
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    height, width = image_shape
    lines = max((caption.count("\n") + 1 for caption in captions), default=1)
    caption_space = 1 + 5 * lines  # pixels above each image for its caption, at 8 points a line
    tiles = np.asarray(images, dtype=np.float64).reshape(count, height * width)
    low, high = tiles.min(axis=1, keepdims=True), tiles.max(axis=1, keepdims=True)
    tiles = (tiles - low) / np.where(high > low, high - low, 1.0)
    padded = np.full((count, height + caption_space, width), np.nan)
    padded[:, caption_space:] = tiles.reshape(count, height, width)
    cell = (height + caption_space, width)
    mosaic = tile_mosaic(padded.reshape(count, cell[0] * width), cell, rows, columns, gap=4)
    inch = 1.3 / (width + 4)  # inches per pixel: a column is 1.3 inches wide
    figure = new_figure(figsize=(inch * mosaic.shape[1] + 0.2, inch * mosaic.shape[0] + 0.5))
    axes = figure.add_subplot()
    axes.imshow(mosaic, cmap=matplotlib_colormap("gray"), vmin=0, vmax=1, interpolation="nearest")
    for index, caption in enumerate(captions[:count]):
        top = (index // columns) * (height + caption_space + 4)
        centre = (index % columns) * (width + 4) + (width - 1) / 2
        axes.text(centre, top + caption_space - 1.5, caption, ha="center", va="bottom", fontsize=8)
    axes.axis("off")
    axes.set_title(title)
    return save_figure(figure, path)


def plot_first_layer_weights(
    weight: np.ndarray, path: str | Path, image_shape: tuple[int, int] = (28, 28), max_units: int = 64
) -> Path:
    """Each first-layer unit's incoming weights (a column of ``weight``, shape
    ``(n_pixels, n_units)``) shown as an image: the pattern the unit responds to. Red is
    positive, blue negative, each unit on its own scale. The tiles are drawn as one mosaic
    image (one axes instead of one per unit: many times faster to render)."""
    units = weight[:, :max_units].T
    limits = np.abs(units).max(axis=1, keepdims=True)
    scaled = units / np.where(limits > 0, limits, 1.0)  # (n_units, n_pixels), in [-1, 1]
    columns = math.ceil(math.sqrt(len(units)))
    rows = math.ceil(len(units) / columns)
    mosaic = tile_mosaic(scaled, image_shape, rows, columns, gap=3)
    figure = new_figure(figsize=(1.1 * columns, 1.1 * rows + 0.7))
    axes = figure.add_subplot()
    cmap = matplotlib_colormap("RdBu_r")
    axes.imshow(mosaic, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    axes.axis("off")
    axes.set_title(
        f"first-layer weights of {len(units)} of {weight.shape[1]} units\n(red positive, blue negative)"
    )
    return save_figure(figure, path)


def tile_mosaic(
    tiles: np.ndarray, image_shape: tuple[int, int], rows: int, columns: int, gap: int
) -> np.ndarray:
    """Tiles ``(n, height*width)`` laid out row by row in one image, ``gap`` NaN pixels apart
    (NaN shows as the colour map's "bad" colour, white here)."""
    height, width = image_shape
    mosaic = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for index, tile in enumerate(tiles):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        mosaic[top : top + height, left : left + width] = tile.reshape(image_shape)
    return mosaic


def matplotlib_colormap(name: str):
    """A copy of a named colour map that draws NaN (the gaps of a mosaic) white."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="white")


def plot_regression_fit(x: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, path: str | Path) -> Path:
    """With one input: the target and the model's curve against x. Otherwise the prediction
    against the target, where a perfect model lies on the diagonal."""
    figure = new_figure(figsize=(6, 4.5))
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
    figure = new_figure(figsize=(5.5, 5))
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

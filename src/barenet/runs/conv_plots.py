"""The pictures of a convolutional run: the first convolution's filters, and what every
convolution makes of one test digit (its feature maps)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..layers import Conv2D
from ..model import Sequential
from .plots import matplotlib_colormap, new_figure, save_figure, tile_mosaic


def plot_conv_filters(weight: np.ndarray, path: str | Path, max_filters: int = 64) -> Path:
    """Each filter of a convolution (``weight`` of shape ``(out, in, kh, kw)``; the first input
    channel) as a small image, red positive, blue negative, each on its own scale."""
    filters = weight[:max_filters, 0]
    count, height, width = filters.shape
    limits = np.abs(filters).reshape(count, -1).max(axis=1)
    scaled = filters.reshape(count, -1) / np.where(limits > 0, limits, 1.0)[:, None]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    mosaic = tile_mosaic(scaled, (height, width), rows, columns, gap=1)
    figure = new_figure(figsize=(0.6 * columns + 0.4, 0.6 * rows + 0.8))
    axes = figure.add_subplot()
    axes.imshow(mosaic, cmap=matplotlib_colormap("RdBu_r"), vmin=-1, vmax=1, interpolation="nearest")
    axes.axis("off")
    axes.set_title(f"first convolution: {count} filters {height}×{width}\n(red positive, blue negative)",
                   fontsize=9)
    return save_figure(figure, path)


def plot_feature_maps(model: Sequential, sample: np.ndarray, path: str | Path, caption: str = "",
                      max_maps: int = 16) -> Path:
    """``sample`` (one input row) and, for each Conv2D of ``model``, the first ``max_maps`` of
    its output channels for that sample (prediction mode), one row of images per convolution."""
    x = np.asarray(sample, dtype=model.dtype).reshape(1, *model.input_shape)
    rows: list[tuple[str, np.ndarray]] = []
    for index, layer in enumerate(model.layers):
        x = layer.forward(x)
        if isinstance(layer, Conv2D):
            rows.append((f"layer {index} Conv2D {x.shape[1]}×{x.shape[2]}×{x.shape[3]}", x[0, :max_maps]))
    columns = max((len(maps) for _, maps in rows), default=1)
    figure = new_figure(figsize=(1.0 * columns + 0.5, 1.15 * (len(rows) + 1) + 0.3))
    image = np.asarray(sample, dtype=np.float64).reshape(model.input_shape)
    first = figure.add_subplot(len(rows) + 1, columns, 1)
    first.imshow(_as_image(image), cmap="gray_r", interpolation="nearest")
    first.set_title(caption or "input", fontsize=8, loc="left")
    first.axis("off")
    for row, (title, maps) in enumerate(rows, start=1):
        for column, feature_map in enumerate(maps):
            axes = figure.add_subplot(len(rows) + 1, columns, row * columns + column + 1)
            axes.imshow(feature_map, cmap="viridis", interpolation="nearest")
            axes.axis("off")
            if column == 0:
                axes.set_title(title, fontsize=8, loc="left")
    return save_figure(figure, path)


def _as_image(values: np.ndarray) -> np.ndarray:
    """A 2-D picture of one input: a square row is reshaped, an image's first channel taken."""
    if values.ndim == 1:
        side = math.isqrt(values.size)
        return values.reshape(side, -1) if side * side == values.size else values.reshape(1, -1)
    return values.reshape(-1, *values.shape[-2:])[0]

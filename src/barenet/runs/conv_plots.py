"""The pictures of a convolutional run: the first convolution's filters, and what every
convolution makes of one test digit (its feature maps)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..layers import ACTIVATIONS, BatchNorm2D, Conv2D, Identity, MaxPool2D, Softmax
from ..model import Sequential
from .plots import matplotlib_colormap, new_figure, save_figure, tile_mosaic

ACTIVATION_TYPES = tuple(kind for kind in set(ACTIVATIONS.values()) if kind not in (Identity, Softmax))


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
    """``sample`` (one input row) and the rows of :func:`feature_map_rows`, each on one colour
    scale with its colour bar: black is 0, white the row's largest value (blue to red around
    0 when an activation such as tanh goes negative)."""
    rows = feature_map_rows(model, sample, max_maps)
    columns = min(8, max((len(maps) for _, maps in rows), default=1))
    heights = [1.4] + [math.ceil(len(maps) / columns) + 0.45 for _, maps in rows]  # in inches
    figure = new_figure(figsize=(columns + 1.6, sum(heights) + 0.4), layout="constrained")
    grid = figure.add_gridspec(len(rows) + 1, 1, height_ratios=heights)
    first = figure.add_subplot(grid[0])
    first.imshow(_as_image(np.asarray(sample, dtype=np.float64).reshape(model.input_shape)), cmap="gray",
                 interpolation="nearest")
    first.set_title(caption or "input", fontsize=9, loc="left")
    first.axis("off")
    for row, (title, maps) in enumerate(rows, start=1):
        count, height, width = maps.shape
        mosaic = tile_mosaic(maps.reshape(count, -1), (height, width), math.ceil(count / columns),
                             columns, gap=max(1, height // 10))
        axes = figure.add_subplot(grid[row])
        low, high = float(np.nanmin(mosaic)), float(np.nanmax(mosaic))
        if low < 0:  # an activation with negative values: diverging around 0
            limit = max(-low, high, 1e-12)
            image = axes.imshow(mosaic, cmap=matplotlib_colormap("RdBu_r"), vmin=-limit, vmax=limit,
                                interpolation="nearest")
        else:  # black (0) to white (the row's largest), as the page's heat scale
            image = axes.imshow(mosaic, cmap=matplotlib_colormap("hot"), vmin=0, vmax=max(high, 1e-12),
                                interpolation="nearest")
        figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, shrink=0.9)
        axes.set_title(title, fontsize=9, loc="left")
        axes.axis("off")
    return save_figure(figure, path)


def feature_map_rows(
    model: Sequential, sample: np.ndarray, max_maps: int = 16
) -> list[tuple[str, np.ndarray]]:
    """For each Conv2D of ``model``: a title and the first ``max_maps`` of its feature maps for
    ``sample`` (prediction mode), after its batch norm and the activation that follows (ReLU:
    what the next layer receives, as ``barenet serve``'s page shows them), else as the
    convolution left them. ``cnn()`` applies a ReLU after the max-pool that follows the
    convolution (the same values, pooled); the maps are then the ReLU of the unpooled ones."""
    x = np.asarray(sample, dtype=model.dtype).reshape(1, *model.input_shape)
    outputs = []
    for layer in model.layers:
        x = layer.forward(x)
        outputs.append(x[0])
    layers = model.layers
    rows: list[tuple[str, np.ndarray]] = []
    for index in (i for i, layer in enumerate(layers) if isinstance(layer, Conv2D)):
        last = index  # the convolution, or the batch norms right after it
        while last + 1 < len(layers) and isinstance(layers[last + 1], BatchNorm2D):
            last += 1
        after = layers[last + 1 : last + 3]
        maps = outputs[last]
        if after and isinstance(after[0], ACTIVATION_TYPES):
            activation, maps = after[0], outputs[last + 1]
        elif len(after) == 2 and isinstance(after[0], MaxPool2D) and isinstance(after[1], ACTIVATION_TYPES):
            activation, maps = after[1], after[1].forward(outputs[last][None])[0]
        else:
            activation = None
        title = f"layer {index} Conv2D: {len(maps)} maps {maps.shape[1]}×{maps.shape[2]}"
        if last > index:
            title = f"{title}, batch-normalised"
        if activation is not None:
            title = f"{type(activation).__name__} of {title}"
        rows.append((title + (f", first {max_maps}" if len(maps) > max_maps else ""), maps[:max_maps]))
    return rows


def _as_image(values: np.ndarray) -> np.ndarray:
    """A 2-D picture of one input: a square row is reshaped, an image's first channel taken."""
    if values.ndim == 1:
        side = math.isqrt(values.size)
        return values.reshape(side, -1) if side * side == values.size else values.reshape(1, -1)
    return values.reshape(-1, *values.shape[-2:])[0]

"""What a model accepts as input: rows of features, images, or sequences of any length.

A model whose first layer takes sequences (an :class:`~barenet.layers.Embedding`, a
recurrent layer) reads axis 1 as time: its ``input_shape`` names one length (the context
it was built for, shown by ``summary()``), and it accepts sequences of any length (a
:class:`~barenet.layers.PositionalEmbedding` refuses those longer than its table). A model
that starts with an Embedding takes integer token ids.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..layers import Embedding, Layer, Shape
from ..layers.embedding import check_ids
from ..validation import check_array, check_sample_shape


def takes_ids(layers: list[Layer]) -> bool:
    """Whether the model's input is integer token ids."""
    return isinstance(layers[0], Embedding)


def check_input(x: np.ndarray, layers: list[Layer], input_shape: Shape) -> None:
    """Refuse a batch that does not fit the model (names the shape it expects)."""
    if not layers[0].takes_sequences:
        check_sample_shape(x, input_shape)
        return
    expected = "(n_samples, t" + "".join(f", {size}" for size in input_shape[1:]) + ")"
    if x.ndim != 1 + len(input_shape) or x.shape[2:] != tuple(input_shape[1:]) or x.shape[1] == 0:
        hint = " (one sequence: x[None])" if x.ndim == len(input_shape) else ""
        raise ShapeError(f"x must have shape {expected} with t ≥ 1 steps; got {x.shape}{hint}")


def as_input(x: object, layers: list[Layer], input_shape: Shape, dtype: np.dtype) -> np.ndarray:
    """``x`` converted at the door: int64 token ids for a model that starts with an Embedding,
    finite ``dtype`` values otherwise; then checked against the model's input shape."""
    if takes_ids(layers):
        array = check_ids(x, layers[0].num_embeddings, "x").astype(np.int64, copy=False)
    else:
        array = check_array(x, "x", dtype, ndim=None)
    check_input(array, layers, input_shape)
    return array


PREDICTION_BYTES = 64 * 2**20  # the working memory one prediction batch may take
MAX_PREDICTION_BATCH = 8192


def prediction_batch_size(layers: list[Layer], shapes: list[Shape], dtype: np.dtype) -> int:
    """Samples per prediction batch: as many as fit in PREDICTION_BYTES, counting for each
    layer its output and its input once per kernel position (a convolution's im2col, a
    pooling's windows, copy each input value that often), at most MAX_PREDICTION_BATCH.
    ``shapes`` are the per-sample shapes before the first layer and after each."""
    per_sample = max(
        math.prod(before) * math.prod(getattr(layer, "kernel_size", (1,))) + math.prod(after)
        for layer, before, after in zip(layers, shapes, shapes[1:])
    )
    fitting = PREDICTION_BYTES // (per_sample * np.dtype(dtype).itemsize)
    return min(max(fitting, 1), MAX_PREDICTION_BATCH)

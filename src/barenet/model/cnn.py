"""Recipes that build convolutional networks: ``cnn()`` and ``lenet5()``, beside ``mlp``.

Both start with a ``Reshape`` to images, so the models take the same 784-wide rows as an MLP
(``predict``, the command line and the scikit-learn wrapper need no special case), and end
with a softmax over the classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import BarenetError
from ..layers import (
    AvgPool2D,
    BatchNorm1D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    ReLU,
    Reshape,
    Softmax,
    get_activation,
)
from ..validation import as_generator, check_choice, check_float_dtype, check_int, check_number
from .sequential import Sequential

POOLS = {"max": MaxPool2D, "avg": AvgPool2D}


def _image_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    if isinstance(input_shape, (str, bytes)) or len(input_shape) != 3:
        raise BarenetError(
            f"input_shape must be (channels, height, width), e.g. (1, 28, 28); got {input_shape!r}"
        )
    channels, height, width = (check_int("input_shape", size) for size in input_shape)
    return channels, height, width


def _features(layers: Sequence[Layer], image_shape: tuple[int, int, int]) -> int:
    """The width of a sample after ``layers`` (which start from flat rows of images)."""
    shape: tuple[int, ...] = (math.prod(image_shape),)
    for layer in layers:
        shape = layer.output_shape(shape)
    return math.prod(shape)


def cnn(
    channels: Sequence[int] = (32, 64),
    kernel_size: int = 3,
    padding: int | str = 0,
    convs_per_block: int = 1,
    pool: str | None = "max",
    hidden: Sequence[int] = (),
    dropout: float = 0.5,
    conv_dropout: float = 0.0,
    batch_norm: bool = False,
    activation: str = "relu",
    n_classes: int = 10,
    input_shape: Sequence[int] = (1, 28, 28),
    preprocessing: Sequence[Layer] = (),
    rng: np.random.Generator | int | None = None,
    dtype: np.dtype | type = np.float32,
) -> Sequential:
    """A stack of convolution blocks, then fully connected layers: ``cnn((32, 64))``.

    Each entry of ``channels`` is a block: ``convs_per_block`` × (Conv2D ``kernel_size``
    [→ BatchNorm2D] → activation), then a 2×2 pooling (``pool`` "max", "avg" or None) and
    ``conv_dropout``. Then Flatten → Dropout(``dropout``) → for each ``hidden`` width Dense
    [→ BatchNorm1D] → activation → Dropout, and a Dense to ``n_classes`` with a softmax.
    With the defaults this is the benchmark network of ``benchmarks/bench_cnn.py``: conv 32
    3×3, max-pool 2, ReLU, conv 64 3×3, max-pool 2, ReLU, flatten, dropout 0.5, dense 10
    (34,826 parameters). He initialisation throughout.

    With ``pool="max"`` and ``activation="relu"`` the block's last ReLU comes after the pool
    (Conv2D [→ BatchNorm2D] → MaxPool2D → ReLU): the same function with the same gradients,
    bit for bit, on a quarter of the values. The maximum of ReLUs is the ReLU of the maximum,
    and the gradient goes to the same input: the first maximum of the window when it is
    positive, and nowhere (ReLU's derivative is 0 at ≤ 0) when it is not. Only ReLU moves:
    sigmoid and tanh (saturating) and leaky ReLU (rounding αx) are non-decreasing too but map
    distinct inputs to equal outputs where their derivative is not 0, so pooled after them a
    tie can send the gradient to another input; GELU is not monotone at all.
    """
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or not channels:
        raise BarenetError(
            f"channels needs at least one channel count per block, e.g. (32, 64); got {channels!r}"
        )
    widths = [check_int(f"channels[{index}]", width) for index, width in enumerate(channels)]
    hidden = [check_int(f"hidden[{index}]", width) for index, width in enumerate(hidden)]
    convs_per_block = check_int("convs_per_block", convs_per_block)
    dropout = check_number("dropout", dropout, 0.0, 1.0, high_open=True)
    conv_dropout = check_number("conv_dropout", conv_dropout, 0.0, 1.0, high_open=True)
    if pool is not None:
        check_choice("pool", pool, tuple(POOLS))
    relu_after_pool = pool == "max" and type(get_activation(activation)) is ReLU
    dtype, rng = check_float_dtype(dtype), as_generator(rng)
    shape = _image_shape(input_shape)
    layers: list[Layer] = [*preprocessing, Reshape(shape)]
    in_channels = shape[0]
    for width in widths:
        for index in range(convs_per_block):
            layers.append(Conv2D(in_channels, width, kernel_size, padding=padding, bias=not batch_norm,
                                 rng=rng, dtype=dtype))
            if batch_norm:
                layers.append(BatchNorm2D(width, dtype=dtype))
            if index < convs_per_block - 1 or not relu_after_pool:
                layers.append(get_activation(activation))
            in_channels = width
        if pool is not None:
            layers.append(POOLS[pool](2))
        if relu_after_pool:
            layers.append(get_activation(activation))  # max-pool then ReLU = ReLU then max-pool (docstring)
        if conv_dropout:
            layers.append(Dropout(conv_dropout, rng=rng))
    layers.append(Flatten())
    features = _features(layers, shape)
    if dropout:
        layers.append(Dropout(dropout, rng=rng))
    for width in hidden:
        layers.append(Dense(features, width, init="he", rng=rng, dtype=dtype))
        if batch_norm:
            layers.append(BatchNorm1D(width, dtype=dtype))
        layers.append(get_activation(activation))
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
        features = width
    layers += [Dense(features, n_classes, init="he", rng=rng, dtype=dtype), Softmax()]
    return Sequential(layers, task="classification")


def lenet5(
    activation: str = "relu",
    pool: str = "max",
    n_classes: int = 10,
    input_shape: Sequence[int] = (1, 28, 28),
    preprocessing: Sequence[Layer] = (),
    rng: np.random.Generator | int | None = None,
    dtype: np.dtype | type = np.float32,
) -> Sequential:
    """A LeNet-5-like network (LeCun et al., 1998) with today's ReLU and max-pooling by default:
    conv 6 5×5 (padding 2) → pool → conv 16 5×5 → pool → dense 120 → dense 84 → dense
    ``n_classes`` (61,706 parameters on 28×28 digits). ``activation="tanh", pool="avg"`` is
    closer to the original."""
    check_choice("pool", pool, tuple(POOLS))
    get_activation(activation)
    dtype, rng = check_float_dtype(dtype), as_generator(rng)
    channels, height, width = _image_shape(input_shape)
    init = "he" if activation in ("relu", "leaky_relu") else "xavier"

    def act() -> Layer:
        return get_activation(activation)

    layers: list[Layer] = [
        *preprocessing, Reshape((channels, height, width)),
        Conv2D(channels, 6, 5, padding=2, init=init, rng=rng, dtype=dtype), act(), POOLS[pool](2),
        Conv2D(6, 16, 5, init=init, rng=rng, dtype=dtype), act(), POOLS[pool](2), Flatten(),
    ]
    features = _features(layers, (channels, height, width))
    for fan_in, fan_out in ((features, 120), (120, 84)):
        layers += [Dense(fan_in, fan_out, init=init, rng=rng, dtype=dtype), act()]
    layers += [Dense(84, n_classes, init=init, rng=rng, dtype=dtype), Softmax()]
    return Sequential(layers, task="classification")

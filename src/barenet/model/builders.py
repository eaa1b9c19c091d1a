"""Recipes that build whole networks: ``mlp([784, 256, 128, 10])``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import BarenetError
from ..init import Initializer
from ..layers import Dense, Dropout, Layer, get_activation
from ..validation import as_generator, check_choice, check_float_dtype, check_int, check_number
from .sequential import TASKS, Sequential


def mlp(
    layer_sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str | None = None,
    task: str = "classification",
    dropout: float = 0.0,
    init: str | Initializer | None = None,
    bias_init: str | Initializer = "zeros",
    preprocessing: Sequence[Layer] = (),
    rng: np.random.Generator | int | None = None,
    dtype: np.dtype | type = np.float32,
) -> Sequential:
    """Build a fully connected network: ``mlp([784, 256, 128, 10])``.

    Hidden layers get ``activation`` (and dropout when ``dropout > 0``); the output layer
    gets ``output_activation``: by default softmax for classification with several
    classes, sigmoid for one output, identity for regression. ``init`` defaults to He for
    (leaky) ReLU and Xavier otherwise. ``preprocessing`` layers (e.g. ``Rescale(1/255)``)
    come first, so the model takes raw inputs.
    """
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence) or len(layer_sizes) < 2:
        raise BarenetError(
            f"layer_sizes needs at least two positive sizes (inputs, outputs); got {layer_sizes!r}"
        )
    sizes = [check_int(f"layer_sizes[{index}]", size) for index, size in enumerate(layer_sizes)]
    check_choice("task", task, TASKS)
    dtype = check_float_dtype(dtype)
    dropout = check_number("dropout", dropout, 0.0, 1.0, high_open=True)
    get_activation(activation)
    if output_activation is None:
        if task == "regression":
            output_activation = "identity"
        else:
            output_activation = "softmax" if sizes[-1] > 1 else "sigmoid"
    if init is None:
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    rng = as_generator(rng)
    layers: list[Layer] = list(preprocessing)
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(fan_in, fan_out, init=init, bias_init=bias_init, rng=rng, dtype=dtype))
        if index < len(sizes) - 2:
            layers.append(get_activation(activation))
            if dropout:
                layers.append(Dropout(dropout, rng=rng))
        elif output_activation not in ("identity", "linear"):
            layers.append(get_activation(output_activation, "output_activation"))
    return Sequential(layers, task=task)

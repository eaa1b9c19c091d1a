"""Networks other than the MLP on the command line: ``--model lenet5|cnn``, or any stack of
layers written out in a TOML ``[[layers]]`` list with the Python API's names::

    [[layers]]
    type = "Reshape"
    shape = [1, 28, 28]

    [[layers]]
    type = "Conv2D"
    in_channels = 1
    out_channels = 32
    kernel_size = 3

    [[layers]]
    type = "ReLU"
    # ... MaxPool2D, Flatten, Dense, Softmax

Each table names a layer class of :data:`barenet.layers.LAYER_TYPES` and its constructor
arguments. A table list that starts with a layer needing images (a convolution, say) on
image data gets a ``Reshape`` to ``(1, height, width)`` in front, so it takes the same rows.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ..errors import BarenetError, ConfigError, ShapeError
from ..layers import LAYER_TYPES, Layer, Reshape
from ..model import Sequential, cnn, lenet5

ARCHITECTURES = ("mlp", "lenet5", "cnn")
SETTING_TYPES = (bool, int, float, str)


def is_layer_table(layers: object) -> bool:
    """True for a ``[[layers]]`` list of tables (rather than MLP widths)."""
    listed = isinstance(layers, (list, tuple)) and bool(layers)
    return listed and all(isinstance(entry, dict) for entry in layers)


def check_layer_table(entries: list[dict]) -> list[dict]:
    """``entries`` checked: each names a known layer ``type`` and only arguments it takes."""
    for index, entry in enumerate(entries):
        kind = entry.get("type")
        if kind not in LAYER_TYPES:
            raise ConfigError(
                f"layers[{index}] needs type = one of {', '.join(sorted(LAYER_TYPES))}; got {kind!r}"
            )
        accepted = set(inspect.signature(LAYER_TYPES[kind].__init__).parameters) - {"self"}
        for key, value in entry.items():
            if key == "type":
                continue
            if key not in accepted:
                raise ConfigError(
                    f"layers[{index}] ({kind}) has no argument {key!r}; "
                    f"it takes: {', '.join(sorted(accepted))}"
                )
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(item, SETTING_TYPES) for item in items):
                raise ConfigError(
                    f"layers[{index}] ({kind}): {key} must be a number, a string or a list of them"
                )
    return [dict(entry) for entry in entries]


def layer_from_entry(entry: dict, index: int, dtype: str, seed: int) -> Layer:
    """The layer a ``[[layers]]`` table describes (random layers seeded from the run's seed)."""
    settings = {key: value for key, value in entry.items() if key != "type"}
    kind = LAYER_TYPES[entry["type"]]
    accepted = inspect.signature(kind.__init__).parameters
    if "dtype" in accepted:
        settings.setdefault("dtype", np.dtype(dtype))
    if "rng" in accepted:
        settings.setdefault("rng", seed + index)
    try:
        return kind(**settings)
    except (TypeError, BarenetError) as error:
        raise ConfigError(f"layers[{index}] ({entry['type']}) cannot be built: {error}") from None


def image_shape(n_features: int) -> tuple[int, int, int]:
    """``(1, side, side)`` for rows of square one-channel images, such as MNIST's 784."""
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ConfigError(
            f"a convolutional model needs square images; this data has {n_features} features per sample "
            "(use --model mlp, or a [[layers]] list starting with a Reshape)"
        )
    return (1, side, side)


def build_network(config, task: str, n_features: int, n_outputs: int | None,
                  preprocessing: list[Layer]) -> Sequential:
    """The network of ``config.model`` (lenet5, cnn) or of its ``[[layers]]`` list; ``n_outputs``
    (None: not known yet) is what the data needs from it."""
    if is_layer_table(config.layers):
        layers = [layer_from_entry(entry, index, config.dtype, config.seed)
                  for index, entry in enumerate(config.layers)]
        try:
            layers[0].output_shape((n_features,))
        except ShapeError:
            layers.insert(0, Reshape(image_shape(n_features)))
        model = Sequential([*preprocessing, *layers], task=task)
    elif n_outputs is None:
        raise ConfigError(f"--model {config.model} needs to know how many classes the data has")
    elif config.model == "lenet5":
        model = lenet5(activation=config.activation, n_classes=n_outputs, input_shape=image_shape(n_features),
                       preprocessing=preprocessing, rng=config.seed, dtype=config.dtype)
    else:
        model = cnn(dropout=config.dropout, activation=config.activation, n_classes=n_outputs,
                    input_shape=image_shape(n_features), preprocessing=preprocessing, rng=config.seed,
                    dtype=config.dtype)
    if model.in_features != n_features or n_outputs is not None and model.out_features != n_outputs:
        raise ConfigError(
            f"the network takes {model.in_features} inputs and gives {model.out_features} outputs; the data "
            f"has {n_features} features and needs {n_outputs} outputs"
        )
    return model


def describe(config) -> str:
    """A few words for the log: ``784-256-128-10``, ``lenet5``, or the layer types in order."""
    if is_layer_table(config.layers):
        return "-".join(entry["type"] for entry in config.layers)
    if config.model != "mlp":
        return config.model
    return "-".join(map(str, config.layers))

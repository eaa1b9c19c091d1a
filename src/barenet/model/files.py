"""Loading a model file: check the description, then rebuild the layers and fill them."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..layers import LAYER_TYPES
from ..saving.archive import read_npz
from ..saving.schema import check_model_description
from .sequential import Sequential


def model_from_description(description: dict, arrays: dict[str, np.ndarray], source: str) -> Sequential:
    """Rebuild a model, checking every array against the description.

    The description is checked against the schema (types, ranges, and the sizes the layers
    declare against the arrays in the file) before any layer is built; every array must be
    finite floating point."""
    check_model_description(description, arrays, source)
    dtype = description["dtype"]
    layers = build_layers(description["layers"], "layers", arrays, dtype, source)
    # A model whose first layer states its input (Standardize, Dense) takes that shape; one that
    # starts with layers of any size (Rescale, a convolution) takes the stored shape, which
    # version-1 files do not have (theirs is found from the first Dense layer).
    input_shape = description.get("input_shape")
    if layers and layers[0].input_shape() is not None:
        input_shape = None
    elif input_shape is not None:
        if not (isinstance(input_shape, list) and input_shape
                and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in input_shape)):
            raise ModelFileError(
                f"{source}: input_shape must be a list of positive integers; got {input_shape!r}"
            )
        input_shape = tuple(input_shape)
    try:
        model = Sequential(
            layers, task=description.get("task"), input_shape=input_shape
        )
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{source}: the described layers do not form a model: {error}") from None
    metadata = description.get("metadata", {})
    model.metadata = metadata if isinstance(metadata, dict) else {}  # checked where it is used
    return model.astype(dtype)


def build_layers(entries: list, prefix: str, arrays: dict[str, np.ndarray], dtype: str,
                 source: str) -> list:
    """The layers ``entries`` describe, filled from ``arrays`` (keyed ``<prefix>.<index>.<name>``);
    a block's own layers are built first and handed to it."""
    layers = []
    for index, entry in enumerate(entries):
        key, name = f"{prefix}.{index}", entry.get("type")
        where = f"layer {key.removeprefix('layers.')}"
        kind = LAYER_TYPES.get(name) if isinstance(name, str) else None
        if kind is None:
            known = ", ".join(sorted(LAYER_TYPES))
            raise ModelFileError(f"{source}: {where} has unknown type {name!r}; known types: {known}")
        config, buffer_names = entry.get("config", {}), entry.get("buffers", [])
        if not isinstance(config, dict) or not isinstance(buffer_names, list):
            raise ModelFileError(f"{source}: {where} has a malformed config or buffer list")
        inner = build_layers(entry.get("layers", []), f"{key}.layers", arrays, dtype, source)
        buffers = {name: _array(arrays, f"{key}.{name}", source) for name in buffer_names}
        arguments = dict(config) | {name: buffers[name] for name in constructor_arguments(kind, buffers)}
        if "dtype" in constructor_arguments(kind, {"dtype": None}):
            arguments["dtype"] = dtype  # built in the file's precision, never rounded on the way
        try:
            layer = kind(*inner, **arguments)
        except (TypeError, ValueError) as error:  # BarenetError is a ValueError
            raise ModelFileError(f"{source}: {where} cannot be rebuilt: {error}") from None
        for name, array in buffers.items():
            try:
                layer.set_buffer(name, array)
            except (KeyError, ValueError) as error:
                raise ModelFileError(f"{source}: {where} buffer {name!r}: {error}") from None
        for parameter in [] if inner else layer.parameters():
            array = _array(arrays, f"{key}.{parameter.name}", source)
            if array.shape != parameter.shape:
                raise ModelFileError(
                    f"{source}: array {key}.{parameter.name} has shape {array.shape} "
                    f"but the description implies {parameter.shape}"
                )
            parameter.value = array.astype(dtype)
            parameter.grad = np.zeros_like(parameter.value)
        layers.append(layer)
    return layers


def constructor_arguments(kind: type, names: dict) -> list[str]:
    """Which of ``names`` a layer's constructor takes as arguments (Standardize's mean and
    std, a dtype); buffers it does not take (running statistics) are filled after construction."""
    accepted = inspect.signature(kind.__init__).parameters
    return [name for name in names if name in accepted]


def _array(arrays: dict[str, np.ndarray], key: str, source: str) -> np.ndarray:
    if key not in arrays:
        raise ModelFileError(f"{source}: array {key!r} named in the description is missing")
    array = arrays[key]
    if array.dtype.kind != "f":
        raise ModelFileError(f"{source}: array {key!r} has dtype {array.dtype}, expected floats")
    if not np.isfinite(array).all():
        raise ModelFileError(f"{source}: array {key!r} holds NaN or infinite values; the file is damaged")
    return array


def load(path: str | Path) -> Sequential:
    """Load a model saved with ``model.save(path)``."""
    description, arrays = read_npz(path)
    return model_from_description(description, arrays, str(path))

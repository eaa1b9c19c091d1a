"""Loading a model file: check the description, then rebuild the layers and fill them."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from ..errors import BarenetError, ModelFileError
from ..saving.archive import read_npz
from .sequential import Sequential, layer_type


def model_from_description(description: dict, arrays: dict[str, np.ndarray], source: str) -> Sequential:
    """Rebuild a model, checking every array against the description."""
    if not isinstance(description, dict):
        raise ModelFileError(f"{source}: the model description is not a JSON object")
    dtype = description.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{source}: dtype {dtype!r} is not float32 or float64")
    entries = description.get("layers")
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ModelFileError(f"{source}: 'layers' must be a list of layer descriptions")
    layers = []
    for index, entry in enumerate(entries):
        try:
            kind = layer_type(entry.get("type"))
        except BarenetError as error:
            raise ModelFileError(f"{source}: layer {index}: {error}") from None
        config, buffer_names = entry.get("config", {}), entry.get("buffers", [])
        if not isinstance(config, dict) or not isinstance(buffer_names, list):
            raise ModelFileError(f"{source}: layer {index} has a malformed config or buffer list")
        buffers = {name: _array(arrays, f"layers.{index}.{name}", source) for name in buffer_names}
        try:
            layer = kind(**config, **{name: buffers[name] for name in kind_buffer_arguments(kind, buffers)})
        except (TypeError, BarenetError) as error:
            raise ModelFileError(f"{source}: layer {index} cannot be rebuilt: {error}") from None
        for name, array in buffers.items():
            try:
                layer.set_buffer(name, array)
            except (KeyError, BarenetError) as error:
                raise ModelFileError(f"{source}: layer {index} buffer {name!r}: {error}") from None
        for parameter in layer.parameters():
            array = _array(arrays, f"layers.{index}.{parameter.name}", source)
            if array.shape != parameter.shape:
                raise ModelFileError(
                    f"{source}: array layers.{index}.{parameter.name} has shape {array.shape} "
                    f"but the description implies {parameter.shape}"
                )
            parameter.value = array.astype(parameter.value.dtype)
            parameter.grad = np.zeros_like(parameter.value)
        layers.append(layer)
    input_shape = description.get("input_shape")
    try:
        model = Sequential(layers, task=description.get("task"),
                           input_shape=tuple(input_shape) if isinstance(input_shape, list) else None)
    except (TypeError, BarenetError) as error:
        raise ModelFileError(f"{source}: the described layers do not form a model: {error}") from None
    return model.astype(dtype)


def kind_buffer_arguments(kind: type, buffers: dict[str, np.ndarray]) -> list[str]:
    """The buffers a layer's constructor takes as arguments (Standardize's mean and std);
    others (running statistics) are filled after construction."""
    accepted = inspect.signature(kind.__init__).parameters
    return [name for name in buffers if name in accepted]


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

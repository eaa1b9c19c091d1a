"""Model files: one ``.npz`` holding the arrays and a versioned JSON description.

Nothing is ever unpickled (``allow_pickle=False``) and no code is taken from the file:
the description names layer types from a fixed list. Files are written atomically, to a
temporary file in the same folder that is then renamed over the target, so a crash never
leaves a half-written model behind.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .atomic import write_atomic
from .layers import LAYER_TYPES
from .model import Sequential

FORMAT = "barenet-model"
FORMAT_VERSION = 1
DESCRIPTION_KEY = "__barenet__"


class ModelFileError(ValueError):
    """A file that is not a readable barenet model (or checkpoint)."""


def write_npz_atomic(path: str | Path, arrays: dict[str, np.ndarray], description: dict) -> Path:
    """Write ``arrays`` plus ``description`` (JSON) to ``path`` (``.npz`` appended if missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{DESCRIPTION_KEY: np.array(json.dumps(description))})
    return write_atomic(path, buffer.getvalue())


def read_npz(path: str | Path, expected_format: str = FORMAT) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_npz_atomic`; returns (description, arrays)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a barenet file: a barenet file is an .npz (zip) archive, "
            "and this is not one (truncated, corrupt, or another kind of file?)"
        )
    try:
        contents = np.load(path, allow_pickle=False)
        if not isinstance(contents, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with contents:
            arrays = {name: contents[name] for name in contents.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise ModelFileError(
            f"{path} is not a readable barenet file (truncated or corrupt?): {error}"
        ) from None
    if DESCRIPTION_KEY not in arrays:
        raise ModelFileError(f"{path} is an .npz file but not a barenet file (no description)")
    try:
        description = json.loads(str(arrays.pop(DESCRIPTION_KEY)))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: the description is not valid JSON: {error}") from None
    found = description.get("format") if isinstance(description, dict) else None
    if found != expected_format:
        raise ModelFileError(f"{path} is a {found!r} file, expected {expected_format!r}")
    version = description.get("version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: format version {version!r} is not valid")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer barenet (format version {version}; this barenet "
            f"reads up to {FORMAT_VERSION}). Upgrade barenet to load it"
        )
    return description, arrays


def model_description(model: Sequential) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON description and named arrays of ``model``."""
    layers, arrays = [], {}
    for index, layer in enumerate(model.layers):
        names = []
        for parameter in layer.parameters():
            key = f"layers.{index}.{parameter.name}"
            arrays[key] = parameter.value
            names.append(parameter.name)
        for name, array in layer.buffers().items():
            arrays[f"layers.{index}.{name}"] = array
        layers.append({
            "type": type(layer).__name__,
            "config": layer.config(),
            "parameters": names,
            "buffers": sorted(layer.buffers()),
        })
    description = {
        "format": FORMAT, "version": FORMAT_VERSION, "task": model.task,
        "dtype": str(model.dtype), "layers": layers,
    }
    return description, arrays


def save_model(model: Sequential, path: str | Path) -> Path:
    """Save ``model`` atomically to ``path`` (``.npz`` is appended if missing)."""
    description, arrays = model_description(model)
    return write_npz_atomic(path, arrays, description)


def model_from_description(description: dict, arrays: dict[str, np.ndarray], source: str) -> Sequential:
    """Rebuild a model, checking every array against the description."""
    dtype = description.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{source}: dtype {dtype!r} is not float32 or float64")
    layers = []
    for index, entry in enumerate(description.get("layers", [])):
        layer_type = LAYER_TYPES.get(entry.get("type"))
        if layer_type is None:
            raise ModelFileError(f"{source}: layer {index} has unknown type {entry.get('type')!r}")
        buffers = {
            name: _array(arrays, f"layers.{index}.{name}", source) for name in entry.get("buffers", [])
        }
        try:
            layer = layer_type(**entry.get("config", {}), **buffers)
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{source}: layer {index} cannot be rebuilt: {error}") from None
        for name, array in buffers.items():  # the constructor may have cast them (float32 default)
            setattr(layer, name, array.astype(dtype))
        for parameter in layer.parameters():
            array = _array(arrays, f"layers.{index}.{parameter.name}", source)
            if array.shape != parameter.shape:
                raise ModelFileError(
                    f"{source}: array layers.{index}.{parameter.name} has shape {array.shape} "
                    f"but the description implies {parameter.shape}"
                )
            parameter.value = array.astype(dtype)
            parameter.grad = np.zeros_like(parameter.value)
        layers.append(layer)
    try:
        model = Sequential(layers, task=description.get("task"))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{source}: the described layers do not form a model: {error}") from None
    return model.astype(dtype)


def _array(arrays: dict[str, np.ndarray], key: str, source: str) -> np.ndarray:
    if key not in arrays:
        raise ModelFileError(f"{source}: array {key!r} named in the description is missing")
    array = arrays[key]
    if array.dtype.kind != "f":
        raise ModelFileError(f"{source}: array {key!r} has dtype {array.dtype}, expected floats")
    return array


def load(path: str | Path) -> Sequential:
    """Load a model saved with ``model.save(path)``."""
    description, arrays = read_npz(path)
    return model_from_description(description, arrays, str(path))

"""The schema of the JSON description in model files and checkpoints, checked before use.

A description comes from a file anyone may have written, so before any layer is built its
structure is checked here: types, required keys and value ranges, and the sizes a layer
declares against the arrays the file really holds (a ``Dense`` layer declaring 50,000,000
inputs in a 13 KB file is refused before it allocates anything). Every problem is a
:class:`~barenet.errors.ModelFileError` saying where in the description it is.

For layer types with a known array layout (:data:`ARRAY_SHAPES`) the arrays must have exactly
the declared shapes. For every other type the general rule bounds what construction can
allocate: each integer setting above :data:`SMALL_SETTING` must be one of the dimensions of
the layer's arrays in the file, and the product of its integer settings stays within
:data:`SETTINGS_PER_ELEMENT` times the elements of those arrays (or :data:`FREE_ELEMENTS` for a
layer without arrays).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from ..errors import ModelFileError
from ..layers import LAYER_TYPES

DTYPES = ("float32", "float64")
TASKS = ("classification", "regression")
MAX_LAYERS = 1_000
MAX_DEPTH = 8
"""How deep blocks (``Residual``) may nest in a model file."""
MAX_INPUT_ELEMENTS = 2**24
MAX_INTEGER = 2**31 - 1
MAX_TEXT = 200
SMALL_SETTING = 64
SETTINGS_PER_ELEMENT = 16
FREE_ELEMENTS = 2**22


def _dense_shapes(config: Mapping) -> dict[str, tuple[int, ...]]:
    return {"weight": (config["in_features"], config["out_features"]), "bias": (config["out_features"],)}


def _recurrent_shapes(gates: int) -> Callable[[Mapping], dict[str, tuple[int, ...]]]:
    def shapes(config: Mapping) -> dict[str, tuple[int, ...]]:
        rows, hidden = gates * config["hidden_size"], config["hidden_size"]
        return {"weight_ih_l0": (rows, config["input_size"]), "weight_hh_l0": (rows, hidden),
                "bias_ih_l0": (rows,), "bias_hh_l0": (rows,)}
    return shapes


def _attention_shapes(config: Mapping) -> dict[str, tuple[int, ...]]:
    d = config["embed_dim"]
    return {"in_proj_weight": (3 * d, d), "in_proj_bias": (3 * d,), "out_proj_weight": (d, d),
            "out_proj_bias": (d,)}


RECURRENT = ("input_size", "hidden_size")
ARRAY_SHAPES: dict[str, tuple[tuple[str, ...], Callable[[Mapping], dict[str, tuple[int, ...]]]]] = {
    "Dense": (("in_features", "out_features"), _dense_shapes),
    "Embedding": (("num_embeddings", "embedding_dim"),
                  lambda config: {"weight": (config["num_embeddings"], config["embedding_dim"])}),
    "PositionalEmbedding": (("max_length", "dim"),
                            lambda config: {"weight": (config["max_length"], config["dim"])}),
    "RNN": (RECURRENT, _recurrent_shapes(1)),
    "LSTM": (RECURRENT, _recurrent_shapes(4)),
    "GRU": (RECURRENT, _recurrent_shapes(3)),
    "MultiHeadAttention": (("embed_dim", "num_heads"), _attention_shapes),
}
"""Layer type → (integer settings it needs, the shapes of its arrays from its settings)."""


# ---- small checks, each naming where the value sits ----------------------------------------


def fail(source: str, where: str, problem: str) -> ModelFileError:
    return ModelFileError(f"{source}: {where} {problem}; the file is damaged or was edited")


def kind_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def get(
    mapping: Mapping, key: str, types: type | tuple[type, ...], source: str, where: str, default: object = ...
) -> object:
    """``mapping[key]`` if it has one of ``types`` (``bool`` is never an ``int`` here)."""
    if key not in mapping:
        if default is ...:
            raise fail(source, where, f"has no {key!r}")
        return default
    value = mapping[key]
    types = types if isinstance(types, tuple) else (types,)
    is_bool = isinstance(value, bool)
    if not isinstance(value, types) or (is_bool and bool not in types):
        names = " or ".join("null" if kind is type(None) else kind.__name__ for kind in types)
        raise fail(source, f"{where}.{key}", f"must be {names}, not {kind_name(value)}")
    return value


def integer(value: object, source: str, where: str, low: int = 0, high: int = MAX_INTEGER) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(source, where, f"must be a whole number in [{low}, {high}], not {str(value)[:40]}")
    return value


def number(value: object, source: str, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(source, where, f"must be a number, not {kind_name(value)}")
    if isinstance(value, int) and abs(value) > 2**63:
        raise fail(source, where, "is too large")
    if not math.isfinite(value) or not low <= value <= high:
        raise fail(source, where, f"must be a finite number in [{low}, {high}], not {value}")
    return float(value)


def text(value: object, source: str, where: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise fail(source, where, f"must be a short string, not {kind_name(value)}")
    if choices is not None and value not in choices:
        raise fail(source, where, f"is {value!r}, expected one of {', '.join(choices)}")
    return value


def names_list(value: object, source: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(n, str) and n.isidentifier() for n in value):
        raise fail(source, where, "must be a list of names")
    return value


# ---- the model description ------------------------------------------------------------------


def check_model_description(description: object, arrays: Mapping[str, np.ndarray], source: str) -> None:
    """Check a model description, and the sizes its layers declare against ``arrays``
    (keyed ``layers.<index>.<name>``), before anything is built from it."""
    if not isinstance(description, dict):
        raise fail(source, "the model description", f"must be an object, not {kind_name(description)}")
    dtype = description.get("dtype")
    if dtype not in DTYPES:
        raise fail(source, "model:", f"dtype {str(dtype)[:40]!r} is not float32 or float64")
    task = get(description, "task", (str, type(None)), source, "model", default=None)
    if task is not None:
        text(task, source, "model.task", TASKS)
    input_shape = get(description, "input_shape", (list, type(None)), source, "model", default=None)
    if input_shape is not None:
        if not 1 <= len(input_shape) <= 8:
            raise fail(source, "model.input_shape", "must list 1 to 8 sizes")
        for index, size in enumerate(input_shape):
            integer(size, source, f"model.input_shape[{index}]", 1, MAX_INPUT_ELEMENTS)
        if math.prod(input_shape) > MAX_INPUT_ELEMENTS:
            raise fail(source, "model.input_shape", f"declares more than {MAX_INPUT_ELEMENTS:,} inputs")
    layers = get(description, "layers", list, source, "model")
    if len(layers) > MAX_LAYERS:
        raise fail(source, "model.layers", f"lists {len(layers)} layers (at most {MAX_LAYERS})")
    for index, entry in enumerate(layers):
        check_layer_entry(entry, index, arrays, source)


def check_layer_entry(entry: object, index: int, arrays: Mapping[str, np.ndarray], source: str,
                      prefix: str = "layers", depth: int = 0) -> None:
    """One layer's entry; a block's (``"layers": [...]``) with its own layers', at most
    :data:`MAX_DEPTH` blocks deep. The layer's arrays are keyed ``<prefix>.<index>.<name>``."""
    where = f"{prefix}[{index}]"
    if not isinstance(entry, dict):
        raise fail(source, where, f"must be an object, not {kind_name(entry)}")
    kind = text(get(entry, "type", str, source, where), source, f"{where}.type")
    if kind not in LAYER_TYPES:
        known = ", ".join(sorted(LAYER_TYPES))
        raise ModelFileError(f"{source}: layer {index} has unknown type {kind!r}; known types: {known}")
    config = get(entry, "config", dict, source, where, default={})
    for key in ("parameters", "buffers"):
        names_list(get(entry, key, list, source, where, default=[]), source, f"{where}.{key}")
    settings = []
    for key, value in config.items():
        settings += check_setting(value, source, f"{where}.config.{key}")
    inner = get(entry, "layers", list, source, where, default=None)
    if inner is not None:
        if depth >= MAX_DEPTH or len(inner) > MAX_LAYERS:
            raise fail(source, f"{where}.layers",
                       f"nests blocks deeper than {MAX_DEPTH} or lists too many layers")
        for position, child in enumerate(inner):
            check_layer_entry(child, position, arrays, source, f"{prefix}.{index}.layers", depth + 1)
    start = f"{prefix}.{index}."
    own = {key[len(start):]: array for key, array in arrays.items()
           if key.startswith(start) and "." not in key[len(start):]}
    if kind in ARRAY_SHAPES:
        needed, shapes_of = ARRAY_SHAPES[kind]
        for key in needed:
            integer(get(config, key, int, source, f"{where}.config"), source, f"{where}.config.{key}", 1)
        for name, shape in shapes_of(config).items():
            key = f"{start}{name}"
            if name not in own:
                raise ModelFileError(f"{source}: array {key!r} named in the description is missing")
            if own[name].shape != shape:
                raise ModelFileError(f"{source}: array {key} has shape {own[name].shape} but the "
                                     f"description implies {shape} ({kind} {dict(config)})")
        return
    elements = sum(int(array.size) for array in own.values())
    dimensions = {size for array in own.values() for size in array.shape}
    budget = SETTINGS_PER_ELEMENT * elements if own else FREE_ELEMENTS
    large = [value for value in settings if own and value > SMALL_SETTING and value not in dimensions]
    if large or math.prod(value for value in settings if value > 1) > budget + SMALL_SETTING:
        raise fail(source, f"{where} ({kind})", f"declares sizes {settings} that the arrays in the file "
                   f"({sorted(own)}, {elements} values) do not hold")


def check_setting(value: object, source: str, where: str) -> list[int]:
    """One constructor argument: a JSON scalar or a flat list of them. Returns its integers."""
    if isinstance(value, list):
        if len(value) > 16:
            raise fail(source, where, "is a list longer than any layer setting")
        return [number for item in value for number in check_setting_scalar(item, source, where)]
    return check_setting_scalar(value, source, where)


def check_setting_scalar(value: object, source: str, where: str) -> list[int]:
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [integer(value, source, where, -MAX_INTEGER, MAX_INTEGER)]
    if isinstance(value, float):
        number(value, source, where)
        return []
    if isinstance(value, str):
        text(value, source, where)
        return []
    raise fail(source, where, f"must be a number, a string, true/false or null, not {kind_name(value)}")

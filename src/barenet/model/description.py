"""What a model is, in words and in a file: the description a model file holds, and ``summary()``.

Functions of any model that has ``layers``, ``shapes``, ``input_shape``, ``task``, ``dtype`` and
``metadata`` (a :class:`~barenet.model.Sequential`); this module imports no model class.
"""

from __future__ import annotations

import numpy as np

from ..saving.archive import FORMAT, FORMAT_VERSION


def describe(model) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON description and the named arrays that a model file holds."""
    arrays: dict[str, np.ndarray] = {}
    description = {
        "format": FORMAT, "version": FORMAT_VERSION, "task": model.task, "dtype": str(model.dtype),
        "input_shape": list(model.input_shape), "layers": describe_layers(model.layers, "layers", arrays),
    }
    if model.metadata:
        description["metadata"] = model.metadata
    return description, arrays


def describe_layers(layers: list, prefix: str, arrays: dict[str, np.ndarray]) -> list[dict]:
    """One entry per layer; a block's entry lists its own layers under ``"layers"``. Each
    array goes into ``arrays`` as ``<prefix>.<index>.<name>`` (``layers.3.layers.0.weight``)."""
    entries = []
    for index, layer in enumerate(layers):
        key = f"{prefix}.{index}"
        inner = layer.sublayers()
        own = [] if inner else layer.parameters()  # a block's parameters belong to its layers
        for parameter in own:
            arrays[f"{key}.{parameter.name}"] = parameter.value
        for name, array in layer.buffers().items():
            arrays[f"{key}.{name}"] = array
        entry = {"type": type(layer).__name__, "config": layer.config(),
                 "parameters": [p.name for p in own], "buffers": sorted(layer.buffers())}
        if inner:
            entry["layers"] = describe_layers(inner, f"{key}.layers", arrays)
        entries.append(entry)
    return entries


def summary(model) -> str:
    """A table of the layers, the per-sample shape after each, and parameter counts; a block's
    layers are listed under it, indented."""
    rows = [("#", "layer", "output shape", "parameters")]
    rows.append(("", "input", _shape_text(model.input_shape), ""))
    shape = model.input_shape
    for index, (layer, output) in enumerate(zip(model.layers, model.shapes)):
        rows += _summary_rows(str(index), layer, shape, output, "")
        shape = output
    sizes = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(c.ljust(s) for c, s in zip(row, sizes)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    total = sum(p.size for p in model.parameters())
    lines += ["-" * len(lines[0]), f"total parameters: {total:,} ({model.dtype}), task: {model.task}"]
    return "\n".join(lines)


def _summary_rows(number: str, layer, input_shape: tuple, output_shape: tuple, indent: str) -> list[tuple]:
    count = sum(p.size for p in layer.parameters())
    rows = [(number, indent + repr(layer), _shape_text(output_shape), f"{count:,}")]
    for position, child in enumerate(layer.sublayers()):
        shape = tuple(child.output_shape(input_shape))
        rows += _summary_rows(f"{number}.{position}", child, input_shape, shape, indent + "  ")
        input_shape = shape
    return rows


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(["n", *map(str, shape)]) + ")"

"""What a model is, in words and in a file: the description a model file holds, and ``summary()``.

Functions of any model that has ``layers``, ``shapes``, ``input_shape``, ``task``, ``dtype`` and
``metadata`` (a :class:`~barenet.model.Sequential`); this module imports no model class.
"""

from __future__ import annotations

import numpy as np

from ..saving.archive import FORMAT, FORMAT_VERSION


def describe(model) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON description and the named arrays that a model file holds."""
    layers, arrays = [], {}
    for index, layer in enumerate(model.layers):
        for parameter in layer.parameters():
            arrays[f"layers.{index}.{parameter.name}"] = parameter.value
        for name, array in layer.buffers().items():
            arrays[f"layers.{index}.{name}"] = array
        layers.append({
            "type": type(layer).__name__, "config": layer.config(),
            "parameters": [p.name for p in layer.parameters()], "buffers": sorted(layer.buffers()),
        })
    description = {
        "format": FORMAT, "version": FORMAT_VERSION, "task": model.task, "dtype": str(model.dtype),
        "input_shape": list(model.input_shape), "layers": layers,
    }
    if model.metadata:
        description["metadata"] = model.metadata
    return description, arrays

def summary(model) -> str:
    """A table of the layers, the per-sample shape after each, and parameter counts."""
    rows = [("#", "layer", "output shape", "parameters")]
    rows.append(("", "input", _shape_text(model.input_shape), ""))
    for index, (layer, shape) in enumerate(zip(model.layers, model.shapes)):
        count = sum(p.size for p in layer.parameters())
        rows.append((str(index), repr(layer), _shape_text(shape), f"{count:,}"))
    sizes = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(c.ljust(s) for c, s in zip(row, sizes)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    total = sum(p.size for p in model.parameters())
    lines += ["-" * len(lines[0]), f"total parameters: {total:,} ({model.dtype}), task: {model.task}"]
    return "\n".join(lines)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(["n", *map(str, shape)]) + ")"

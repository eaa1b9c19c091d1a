"""The interface every layer implements: a forward pass and the backward pass beside it.

A layer keeps nothing from one call to the next. ``forward`` is pure: it reads the layer's
parameters and returns the output, so any number of threads may predict at once.
Training asks for more: ``forward_with_cache`` also returns a *cache*, whatever the backward
pass will need (the input, the output, a dropout mask), and the caller — the training
step, never the layer — hands that cache back to ``backward``:

    output, cache = layer.forward_with_cache(x, training=True)
    grad_x = layer.backward(grad_output, cache)   # also writes each parameter.grad

``training`` means the same in both passes and is always given by keyword: ``True`` turns
dropout on and makes batch normalisation use the batch's statistics; ``False`` (the default)
is prediction mode. ``forward_with_cache(x)`` in prediction mode is what gradient checks and
saliency maps of a trained model use.

``backward`` never modifies ``grad_output`` or the cache: it returns new arrays.

The one exception to "a layer keeps nothing": batch normalisation's running statistics are
buffers of the layer, and its training pass moves them (see :class:`~barenet.layers.BatchNorm1D`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from ..parameter import Parameter

Shape = tuple[int, ...]
"""The shape of one sample, without the batch axis: ``(784,)`` or ``(1, 28, 28)``."""


class Layer:
    """Base class.

    Layers without parameters implement ``forward`` and ``backward``. Layers with
    parameters implement ``forward`` and the two halves of the backward pass,
    ``backward_parameters`` (fills ``parameter.grad``) and ``backward_input`` (returns
    ∂loss/∂input), which the default ``backward`` runs in turn. The default
    ``forward_with_cache`` caches the input; layers whose backward needs something else
    override it.

    Two class attributes tell a model how to treat the layer: ``applies_to_last_axis`` (its
    ``input_shape()`` names only the last axis and any leading axes pass through, as
    ``torch.nn.Linear`` does) and ``takes_sequences`` (as a model's first layer, axis 1 of the
    input is time, of any length).
    """

    applies_to_last_axis = False
    takes_sequences = False

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """The output for a batch ``x``; records nothing. ``training=True`` turns dropout on."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x, *, training=False)")

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, Any]:
        """``(output, cache)``: the forward pass and what ``backward`` will need from it."""
        return self.forward(x, training=training), x

    def backward(self, grad_output: np.ndarray, cache: Any) -> np.ndarray:
        """∂loss/∂input from ∂loss/∂output; writes the parameters' gradients too."""
        if not self.parameters():
            raise NotImplementedError(
                f"{type(self).__name__} must implement backward(grad_output, cache), which returns "
                "∂loss/∂input (a layer without parameters writes only that method)"
            )
        self.backward_parameters(grad_output, cache)
        return self.backward_input(grad_output, cache)

    def backward_input(self, grad_output: np.ndarray, cache: Any) -> np.ndarray:
        """∂loss/∂input only, leaving ``parameter.grad`` alone (e.g. for a saliency map)."""
        if self.parameters():
            raise NotImplementedError(
                f"{type(self).__name__} must implement backward_input(grad_output, cache), which returns "
                "∂loss/∂input (a layer with parameters writes it and backward_parameters)"
            )
        return self.backward(grad_output, cache)

    def backward_parameters(self, grad_output: np.ndarray, cache: Any) -> None:
        """Fill the parameter gradients only: the first layer of a network needs no dX."""
        if self.parameters():
            raise NotImplementedError(
                f"{type(self).__name__} must implement backward_parameters(grad_output, cache), which "
                "writes each parameter.grad (a layer with parameters writes it and backward_input)"
            )
    def parameters(self) -> list[Parameter]:
        """The layer's learnable parameters (none for most layers); a block's include its layers'."""
        return []

    def sublayers(self) -> list[Layer]:
        """The layers inside a block (:class:`~barenet.layers.Residual`); none for most layers."""
        return []

    def buffers(self) -> dict[str, np.ndarray]:
        """Arrays that are part of the layer but not learned (saved with the model)."""
        return {}

    def set_buffer(self, name: str, value: np.ndarray) -> None:
        """Replace buffer ``name`` (by a checkpoint or a model file), keeping its shape."""
        current = self.buffers()[name]
        if np.shape(value) != current.shape:
            raise ShapeError(
                f"{type(self).__name__} buffer {name!r} has shape {current.shape}; "
                f"got an array of shape {np.shape(value)}"
            )
        setattr(self, name, np.asarray(value, dtype=current.dtype).copy())

    def config(self) -> dict:
        """The constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    def input_shape(self) -> Shape | None:
        """The per-sample input shape this layer requires, or None if it takes any shape."""
        return None

    def output_shape(self, input_shape: Shape) -> Shape:
        """Per-sample output shape for a per-sample input of ``input_shape`` (Keras's
        ``compute_output_shape``); raises a :class:`ShapeError` when the input does not fit."""
        required = self.input_shape()
        if required is not None and tuple(input_shape) != required:
            raise ShapeError(
                f"{type(self).__name__} expects samples of shape {required}, got {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def astype(self, dtype: np.dtype | type) -> None:
        """Convert the buffers to ``dtype``; the model converts the parameters (it owns them)."""
        for name, array in self.buffers().items():
            setattr(self, name, array.astype(dtype))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"



def walk_layers(layers: list[Layer], prefix: str = "layers") -> list[tuple[str, Layer]]:
    """Every layer with its key, blocks' inner layers after the block: ``("layers.3", block)``,
    ``("layers.3.layers.0", norm)``. Model files and checkpoints name arrays by these keys."""
    found = []
    for index, layer in enumerate(layers):
        key = f"{prefix}.{index}"
        found.append((key, layer))
        found += walk_layers(layer.sublayers(), f"{key}.layers")
    return found

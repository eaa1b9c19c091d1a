"""Residual blocks: ``x + f(x)``, the skip connection of ResNets and transformers."""

from __future__ import annotations

import numpy as np

from ..errors import BarenetError, ShapeError
from ..parameter import Parameter
from .base import Layer, Shape


class Residual(Layer):
    """``Y = X + f(X)``, where f is ``layers`` applied one after another.

    The gradient takes both roads back: ``dX = dY + ∂f/∂X·dY``. Since the identity road
    passes ``dY`` unchanged, deep stacks of blocks still get a gradient at the bottom. A
    pre-LayerNorm transformer block is two of them::

        Residual(LayerNorm(d), MultiHeadAttention(d, heads, causal=True)),
        Residual(LayerNorm(d), Dense(d, 4 * d), GELU(), Dense(4 * d, d)),

    ``summary()`` shows the block and its layers; a model file stores them inside the block.

    Shape:
        input any shape, output the same: f must give back the shape it was given.
    """

    def __init__(self, *layers: Layer) -> None:
        if not layers:
            raise BarenetError("Residual needs at least one layer: Residual(LayerNorm(d), Dense(d, d))")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Residual's layer {index} is a {type(layer).__name__}, not a barenet Layer")
        self.layers = list(layers)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        branch = x
        for layer in self.layers:
            branch = layer.forward(branch, training=training)
        return x + branch  # Y = X + f(X)

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, list]:
        branch, caches = x, []
        for layer in self.layers:
            branch, cache = layer.forward_with_cache(branch, training=training)
            caches.append(cache)
        return x + branch, caches  # Y = X + f(X)

    def backward(self, grad_output: np.ndarray, caches: list) -> np.ndarray:
        grad = grad_output
        for layer, cache in zip(reversed(self.layers), reversed(caches)):
            grad = layer.backward(grad, cache)  # ∂f/∂X·dY, through f's layers last to first
        grad += grad_output  # dX = dY + ∂f/∂X·dY (in place on the array the branch returned)
        return grad

    def backward_parameters(self, grad_output: np.ndarray, caches: list) -> None:
        self.backward(grad_output, caches)  # the layers' dX are needed on the way down anyway

    def backward_input(self, grad_output: np.ndarray, caches: list) -> np.ndarray:
        grad = grad_output
        for layer, cache in zip(reversed(self.layers), reversed(caches)):
            grad = layer.backward_input(grad, cache)
        return grad + grad_output  # dX = dY + ∂f/∂X·dY, no parameter.grad touched

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def sublayers(self) -> list[Layer]:
        return list(self.layers)

    def shapes(self, input_shape: Shape) -> list[Shape]:
        """The per-sample shape after each layer of the block."""
        shapes, shape = [], tuple(input_shape)
        for index, layer in enumerate(self.layers):
            try:
                shape = tuple(layer.output_shape(shape))
            except ShapeError as error:
                raise ShapeError(f"Residual's layer {index} ({type(layer).__name__}) does not fit: {error}") \
                    from None
            shapes.append(shape)
        return shapes

    def output_shape(self, input_shape: Shape) -> Shape:
        shape = self.shapes(input_shape)[-1]
        if shape != tuple(input_shape):
            raise ShapeError(
                f"Residual adds its layers' output to its input, so they must keep the shape "
                f"{tuple(input_shape)}; they give {shape}"
            )
        return shape

    def astype(self, dtype: np.dtype | type) -> None:
        for layer in self.layers:
            layer.astype(dtype)

    def __repr__(self) -> str:
        return f"Residual({', '.join(type(layer).__name__ for layer in self.layers)})"

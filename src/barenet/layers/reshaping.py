"""Layers that only rearrange: images to rows (``Flatten``) and rows to images (``Reshape``)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import BarenetError, ShapeError
from ..validation import check_int
from .base import Layer, Shape


class Flatten(Layer):
    """Each sample as one row: ``(n, c, h, w) → (n, c·h·w)``, in row-major (C) order.

    Shape:
        input ``(n, *dims)``, output ``(n, prod(dims))``.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return x.reshape(len(x), -1)  # copies only when x is not laid out sample by sample

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        return self.forward(x), x.shape

    def backward(self, grad_output: np.ndarray, input_shape: tuple) -> np.ndarray:
        return grad_output.reshape(input_shape)  # dX = dY, reshaped back

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)


class Reshape(Layer):
    """Each sample reshaped to ``shape``: ``Reshape((1, 28, 28))`` turns 784-wide rows into
    images, so a convolutional model takes the same rows as an MLP.

    Shape:
        input ``(n, prod(shape))`` (or any per-sample shape of that size), output ``(n, *shape)``.
    """

    def __init__(self, shape: tuple[int, ...] | list[int]) -> None:
        if isinstance(shape, (int, np.integer)) or not isinstance(shape, (tuple, list)) or not shape:
            raise BarenetError(f"Reshape needs a per-sample shape such as (1, 28, 28); got {shape!r}")
        self.shape = tuple(check_int(f"shape[{index}]", size) for index, size in enumerate(shape))

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return x.reshape(len(x), *self.shape)

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        return self.forward(x), x.shape

    def backward(self, grad_output: np.ndarray, input_shape: tuple) -> np.ndarray:
        return grad_output.reshape(input_shape)  # dX = dY, reshaped back

    def config(self) -> dict:
        return {"shape": list(self.shape)}

    def input_shape(self) -> Shape:
        return (math.prod(self.shape),)

    def output_shape(self, input_shape: Shape) -> Shape:
        if math.prod(input_shape) != math.prod(self.shape):
            raise ShapeError(
                f"Reshape{self.shape} needs samples of {math.prod(self.shape)} values; got shape "
                f"{tuple(input_shape)} with {math.prod(input_shape)}"
            )
        return self.shape

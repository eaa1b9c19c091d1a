"""The fully connected layer: every output a weighted sum of every input."""

from __future__ import annotations

import numpy as np

from ..init import Initializer, get_initializer
from ..parameter import Parameter
from ..validation import as_generator, check_float_dtype, check_int
from .base import Layer, Shape


class Dense(Layer):
    """Fully connected layer: ``y = x·W + b``, with W of shape ``(in_features, out_features)``.

    Applied to the last axis, as ``torch.nn.Linear``: a sequence ``(n, t, in_features)`` maps
    every position with the same W. PyTorch's ``Linear.weight`` is ``(out, in)``, so
    ``dense.weight.value = linear.weight.T`` and ``dense.bias.value = linear.bias`` copy one across.

    Args:
        in_features, out_features: the layer's input and output widths.
        init, bias_init: initialiser name (see :mod:`barenet.init`) or object.
        rng: generator or seed for the initial weights.
        dtype: float32 (default) or float64.

    Shape:
        input ``(n, …, in_features)``, output ``(n, …, out_features)``.
    """

    applies_to_last_axis = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str | Initializer = "xavier_uniform",
        bias_init: str | Initializer = "zeros",
        rng: np.random.Generator | int | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        self.in_features = check_int("in_features", in_features)
        self.out_features = check_int("out_features", out_features)
        dtype = check_float_dtype(dtype)
        rng = as_generator(rng)
        shape = (self.in_features, self.out_features)
        fans = {"fan_in": self.in_features, "fan_out": self.out_features, "rng": rng, "dtype": dtype}
        self.weight = Parameter(get_initializer(init)(shape, **fans), "weight", decay=True)
        bias = get_initializer(bias_init, "bias_init")((self.out_features,), **fans)
        self.bias = Parameter(bias, "bias", decay=False)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        output = _rows(x) @ self.weight.value  # Z = X·W + b, every leading axis as rows of one product
        output += self.bias.value  # in place on the product we just allocated
        return output.reshape(*x.shape[:-1], self.out_features)

    def backward_parameters(self, grad_output: np.ndarray, x: np.ndarray) -> None:
        rows = _rows(grad_output)
        np.matmul(_rows(x).T, rows, out=self.weight.grad)  # dW = Xᵀ·dZ
        rows.sum(axis=0, out=self.bias.grad)  # db = Σₙ dZ

    def backward_input(self, grad_output: np.ndarray, x: np.ndarray) -> np.ndarray:
        return (_rows(grad_output) @ self.weight.value.T).reshape(x.shape)  # dX = dZ·Wᵀ

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features}

    def input_shape(self) -> Shape:
        return (self.in_features,)

    def output_shape(self, input_shape: Shape) -> Shape:
        super().output_shape(tuple(input_shape)[-1:])
        return (*tuple(input_shape)[:-1], self.out_features)


def _rows(x: np.ndarray) -> np.ndarray:
    """``(n, …, k)`` as ``(n·…, k)``: a view for the usual contiguous array, a 2-D one as it is."""
    return x if x.ndim == 2 else x.reshape(-1, x.shape[-1])

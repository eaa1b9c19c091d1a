"""The fully connected layer: every output a weighted sum of every input."""

from __future__ import annotations

import numpy as np

from ..init import Initializer, get_initializer
from ..parameter import Parameter
from ..validation import as_generator, check_float_dtype, check_int
from .base import Layer, Shape


class Dense(Layer):
    """Fully connected layer: ``y = x·W + b``, with W of shape ``(in_features, out_features)``.

    Args:
        in_features, out_features: the layer's input and output widths.
        init, bias_init: initialiser name (see :mod:`barenet.init`) or object.
        rng: generator or seed for the initial weights.
        dtype: float32 (default) or float64.

    Shape:
        input ``(n, in_features)``, output ``(n, out_features)``.
    """

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
        output = x @ self.weight.value  # Z = X·W + b
        output += self.bias.value  # in place on the product we just allocated
        return output

    def backward_parameters(self, grad_output: np.ndarray, x: np.ndarray) -> None:
        np.matmul(x.T, grad_output, out=self.weight.grad)  # dW = Xᵀ·dZ
        grad_output.sum(axis=0, out=self.bias.grad)  # db = Σₙ dZ

    def backward_input(self, grad_output: np.ndarray, x: np.ndarray) -> np.ndarray:
        return grad_output @ self.weight.value.T  # dX = dZ·Wᵀ

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features}

    def input_shape(self) -> Shape:
        return (self.in_features,)

    def output_shape(self, input_shape: Shape) -> Shape:
        super().output_shape(input_shape)
        return (self.out_features,)

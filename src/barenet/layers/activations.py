"""Activation functions, as layers with a forward and a backward pass.

Each ``backward`` multiplies the incoming gradient by the activation's derivative, written
in terms of what the training forward pass cached (its input or its output). Also here: the
numerically stable ``softmax``, ``log_softmax`` and ``sigmoid`` functions the losses reuse.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_number, resolve
from .base import Layer
from .gelu import GELU


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^−z), stable in both tails.

    For z ≥ 0 this is 1 / (1 + e^−z); for z < 0 the same value is e^z / (1 + e^z). Either
    way the exponent is ≤ 0, so nothing overflows, and the left tail keeps its full relative
    precision (σ(−50) ≈ 1.9e-22, where ½(1 + tanh(z/2)) gives exactly 0).
    """
    z = np.asarray(z)
    exponential = np.exp(-np.abs(z))  # e^−|z| ∈ (0, 1]
    return np.where(z >= 0, 1 / (1 + exponential), exponential / (1 + exponential))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, via log-sum-exp with the row maximum subtracted."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ over the last axis, stable for any magnitude of z."""
    exponentials = np.exp(z - z.max(axis=-1, keepdims=True))
    exponentials /= exponentials.sum(axis=-1, keepdims=True)  # in place on our own array
    return exponentials


class ReLU(Layer):
    """max(0, x), element-wise; any shape."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return np.maximum(x, 0)  # Y = max(0, X)

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, np.ndarray]:
        output = self.forward(x)
        return output, output

    def backward(self, grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
        return grad_output * (output > 0)  # dX = dY ⊙ [Y > 0]


class LeakyReLU(Layer):
    """x for x > 0, alpha·x otherwise: a small slope keeps 'dead' units learning."""

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = check_number("alpha", alpha, low=0.0, high=1.0, high_open=True)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return np.where(x > 0, x, x * self.alpha)  # Y = X or αX

    def backward(self, grad_output: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, grad_output, grad_output * self.alpha)  # dX = dY or α·dY

    def config(self) -> dict:
        return {"alpha": self.alpha}


class Sigmoid(Layer):
    """σ(x) = 1 / (1 + e^−x), squashing to (0, 1)."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return sigmoid(x)  # Y = σ(X)

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, np.ndarray]:
        output = self.forward(x)
        return output, output

    def backward(self, grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
        return grad_output * (output * (1 - output))  # dX = dY ⊙ Y(1 − Y)


class Tanh(Layer):
    """tanh(x), squashing to (−1, 1)."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return np.tanh(x)  # Y = tanh(X)

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, np.ndarray]:
        output = self.forward(x)
        return output, output

    def backward(self, grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
        return grad_output * (1 - output**2)  # dX = dY ⊙ (1 − Y²)


class Softmax(Layer):
    """Row-wise softmax, turning scores of shape (n, classes) into class probabilities.

    Train with ``CrossEntropy``, which works on the scores before this layer
    (fused, stable); this layer's own backward is the full Jacobian product.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return softmax(x)  # Yᵢ = e^Xᵢ / Σⱼ e^Xⱼ

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, np.ndarray]:
        output = self.forward(x)
        return output, output

    def backward(self, grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
        dot = (grad_output * output).sum(axis=-1, keepdims=True)
        return output * (grad_output - dot)  # dX = Y ⊙ (dY − Σ dY⊙Y)


class Identity(Layer):
    """y = x: the output 'activation' of a regression network."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return x  # Y = X

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, None]:
        return x, None

    def backward(self, grad_output: np.ndarray, cache: None) -> np.ndarray:
        return grad_output.copy()  # dX = dY (a new array: the caller's is never handed back)


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "gelu": GELU,
    "identity": Identity,
    "linear": Identity,
}


def get_activation(activation: str | Layer, name: str = "activation") -> Layer:
    """``"relu"`` → ``ReLU()``; a :class:`Layer` object is returned as it is. Anything else is
    refused with a ``TypeError`` naming the parameter ``name``."""
    return resolve(activation, ACTIVATIONS, name.replace("_", " "), Layer, name)

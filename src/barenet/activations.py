"""Activation functions, as layers with a forward and a backward pass.

Each ``backward`` multiplies the incoming gradient by the activation's derivative,
written in terms of what ``forward`` saw or produced. Also here: the numerically stable
``softmax``, ``log_softmax`` and ``sigmoid`` functions that the losses reuse.
"""

from __future__ import annotations

import numpy as np

from .layer import Layer


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^−z), computed as ½(1 + tanh(z/2)): no overflow for any z."""
    output = np.tanh(z * 0.5)
    output += 1
    output *= 0.5
    return output


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, via log-sum-exp with the row maximum subtracted."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ over the last axis, stable for any magnitude of z."""
    exponentials = np.exp(z - z.max(axis=-1, keepdims=True))
    exponentials /= exponentials.sum(axis=-1, keepdims=True)
    return exponentials


class ReLU(Layer):
    """max(0, x)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.output = np.maximum(x, 0)  # Y = max(0, X)
        return self.output

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_output *= self.output > 0  # dX = dY ⊙ [X > 0]
        return grad_output


class LeakyReLU(Layer):
    """x for x > 0, alpha·x otherwise: a small slope keeps 'dead' units learning."""

    def __init__(self, alpha: float = 0.01) -> None:
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"LeakyReLU alpha must be in [0, 1); got {alpha}")
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.positive = x > 0
        return np.where(self.positive, x, x * self.alpha)  # Y = X or αX

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return np.where(self.positive, grad_output, grad_output * self.alpha)  # dX = dY or α·dY

    def config(self) -> dict:
        return {"alpha": self.alpha}


class Sigmoid(Layer):
    """σ(x) = 1 / (1 + e^−x), squashing to (0, 1)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.output = sigmoid(x)  # Y = σ(X)
        return self.output

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_output *= self.output * (1 - self.output)  # dX = dY ⊙ Y(1 − Y)
        return grad_output


class Tanh(Layer):
    """tanh(x), squashing to (−1, 1)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.output = np.tanh(x)  # Y = tanh(X)
        return self.output

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_output *= 1 - self.output**2  # dX = dY ⊙ (1 − Y²)
        return grad_output


class Softmax(Layer):
    """Row-wise softmax, turning scores into class probabilities.

    Train with ``CrossEntropy``, which works on the scores before this layer
    (fused, stable); this layer's own backward is the full Jacobian product.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.output = softmax(x)  # Yᵢ = e^Xᵢ / Σⱼ e^Xⱼ
        return self.output

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        dot = (grad_output * self.output).sum(axis=1, keepdims=True)
        return self.output * (grad_output - dot)  # dX = Y ⊙ (dY − Σ dY⊙Y)


class Identity(Layer):
    """y = x: the output 'activation' of a regression network."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x  # Y = X

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output  # dX = dY


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "identity": Identity,
    "linear": Identity,
}

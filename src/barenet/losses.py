"""Loss functions: one number that says how wrong the network is, and its gradient.

``forward(output, target)`` returns the loss averaged over the batch (PyTorch's
``reduction="mean"``); ``backward()`` returns ∂loss/∂output for that same batch as a new
array, the same however often it is called (what it needs was kept by ``forward``).
``CrossEntropy`` and ``BinaryCrossEntropy`` take *logits* (the scores before softmax or
sigmoid) and fuse the two steps, which is both exact and stable for any magnitude.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import BarenetError
from .layers.activations import sigmoid
from .parameter import Parameter
from .validation import check_class_labels, check_number, check_type, resolve


class Loss:
    """Base class. ``from_logits`` says the loss wants the scores before the output activation."""

    from_logits = False
    name = "loss"

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, output: np.ndarray, target: np.ndarray) -> float:
        return self.forward(output, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits: L = −(1/n) Σᵢ log softmax(zᵢ)[yᵢ].

    ``target`` holds integer class ids ``(n_samples,)`` or one-hot rows ``(n_samples, n_classes)``.
    The gradient is the famous (softmax(z) − onehot(y)) / n.
    """

    from_logits = True
    name = "cross_entropy"

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        n_samples, n_classes = logits.shape
        self.labels = check_class_labels(target, n_classes, name="target")
        if len(self.labels) != n_samples:
            raise BarenetError(f"target has {len(self.labels)} samples but the output has {n_samples}")
        self.rows = np.arange(n_samples)
        shifted = logits - logits.max(axis=1, keepdims=True)  # z − max z: no exp can overflow
        probabilities = np.exp(shifted)
        sums = probabilities.sum(axis=1)
        probabilities /= sums[:, None]  # p = softmax(z), kept for the gradient
        self.probabilities = probabilities
        # L = −mean log p[y] = mean(log Σⱼ e^(zⱼ − max z) − (z[y] − max z)), each term ≥ 0
        return float((np.log(sums) - shifted[self.rows, self.labels]).sum()) / n_samples

    def backward(self) -> np.ndarray:
        grad = self.probabilities.copy()
        grad[self.rows, self.labels] -= 1  # dZ = (softmax(Z) − Y) / n, in place on the copy
        grad *= 1 / len(grad)
        return grad


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy from logits, for 0/1 targets of the output's shape.

    L = mean(max(z, 0) − z·y + log(1 + e^−|z|)), the stable form of
    −[y log σ(z) + (1 − y) log(1 − σ(z))].
    """

    from_logits = True
    name = "binary_cross_entropy"

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        self.target = _match_shape(np.asarray(target, dtype=logits.dtype), logits.shape)
        if np.any((self.target < 0) | (self.target > 1)):
            raise BarenetError("BinaryCrossEntropy targets must lie in [0, 1]")
        self.logits = logits.copy()  # the caller may reuse its array before backward
        loss = np.maximum(logits, 0) - logits * self.target + np.log1p(np.exp(-np.abs(logits)))
        return float(loss.mean())

    def backward(self) -> np.ndarray:
        grad = sigmoid(self.logits)
        grad -= self.target  # dZ = (σ(Z) − Y) / N, in place on σ(Z), a new array
        grad /= grad.size
        return grad


class MSE(Loss):
    """Mean squared error over every element: L = mean((ŷ − y)²), as PyTorch's ``MSELoss``.

    ``half=True`` gives the textbook ½·mean((ŷ − y)²), whose gradient has no factor 2.
    """

    name = "mse"

    def __init__(self, half: bool = False) -> None:
        self.half = bool(half)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        target = _match_shape(np.asarray(target, dtype=prediction.dtype), prediction.shape)
        self.error = prediction - target
        factor = 0.5 if self.half else 1.0
        return float(factor * np.mean(self.error**2))  # L = mean((Ŷ − Y)²)

    def backward(self) -> np.ndarray:
        factor = 1.0 if self.half else 2.0
        return self.error * (factor / self.error.size)  # dŶ = 2(Ŷ − Y) / N, a new array

    def __repr__(self) -> str:
        return f"MSE(half={self.half})"


def _match_shape(target: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Accept ``(n,)`` targets for ``(n, 1)`` outputs; refuse any other mismatch."""
    if target.shape == shape:
        return target
    if target.ndim == 1 and shape == (len(target), 1):
        return target[:, None]
    raise BarenetError(f"target has shape {target.shape} but the output has shape {shape}")


class L2Penalty:
    """Classic L2 regularisation: λ/(2m)·Σ‖W‖² over weights (biases excluded), m the batch size.

    Its gradient λ/m·W is added to each weight's ``grad`` after the backward pass.
    """

    def __init__(self, strength: float) -> None:
        self.strength = check_number("l2 strength", strength, low=0.0)

    def value(self, parameters: Iterable[Parameter], n_samples: int) -> float:
        total = sum(float(np.sum(p.value**2)) for p in parameters if p.decay)
        return self.strength / (2 * n_samples) * total  # λ/(2m)·Σ‖W‖²

    def add_gradient(self, parameters: Iterable[Parameter], n_samples: int) -> None:
        for p in parameters:
            if p.decay:
                p.grad += (self.strength / n_samples) * p.value  # dW += λ/m·W, in place on our grad


LOSSES = {
    "cross_entropy": CrossEntropy,
    "categorical_cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "mse": MSE,
    "mean_squared_error": MSE,
}


def get_loss(loss: str | Loss) -> Loss:
    """``"cross_entropy"`` → ``CrossEntropy()``; a ``Loss`` object is returned as it is."""
    if not isinstance(loss, str):
        check_type("loss", loss, Loss, "a loss name such as 'cross_entropy' or a barenet Loss")
    return resolve(loss, LOSSES, "loss")

"""Loss functions: one number that says how wrong the network is, and its gradient.

Losses follow the layers' contract. ``forward(output, target)`` returns the loss averaged
over the batch (PyTorch's ``reduction="mean"``) *and a cache*; ``backward(cache)`` returns
∂loss/∂output for that batch as a new array. The loss object keeps nothing, so one loss may
serve many threads at once::

    value, cache = loss.forward(logits, y)
    grad_logits = loss.backward(cache)

``loss(output, target)`` gives the value alone. ``CrossEntropy`` and ``BinaryCrossEntropy``
take *logits* (the scores before softmax or sigmoid) and fuse the two steps, which is both
exact and stable for any magnitude.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import BarenetError
from .layers.activations import sigmoid
from .parameter import Parameter
from .validation import check_class_labels, check_number, check_type, resolve


class Loss:
    """Base class. ``from_logits`` says the loss wants the scores before the output activation."""

    from_logits = False
    name = "loss"

    def forward(self, output: np.ndarray, target: np.ndarray) -> tuple[float, Any]:
        """``(value, cache)``: the mean loss over the batch and what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(output, target)")

    def backward(self, cache: Any) -> np.ndarray:
        """∂loss/∂output, a new array of the output's shape, from the cache ``forward`` returned."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(cache)")

    def __call__(self, output: np.ndarray, target: np.ndarray) -> float:
        """The loss value alone (evaluation, plots): ``forward`` without keeping its cache."""
        return self.forward(output, target)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits: L = −(1/m) Σᵢ log softmax(zᵢ)[yᵢ].

    Over the last axis: ``(n, classes)`` logits for one answer per sample, or
    ``(n, t, classes)`` for one answer per position of a sequence (the mean over every
    position, as PyTorch gives after flattening both). ``target`` holds integer class ids of
    the logits' shape without the class axis, or, for ``(n, classes)`` logits, one-hot rows.
    Positions whose target is ``ignore_index`` (padding) count for nothing; m is the number of
    positions that count. The gradient is the famous (softmax(z) − onehot(y)) / m.

    Shape:
        logits ``(n, classes)`` or ``(n, t, classes)``; target ``(n,)`` or ``(n, t)``.
    """

    from_logits = True
    name = "cross_entropy"

    def __init__(self, ignore_index: int = -100) -> None:
        check_type("ignore_index", ignore_index, (int, np.integer), "an integer class id, e.g. -100")
        self.ignore_index = int(ignore_index)

    def forward(self, logits: np.ndarray, target: np.ndarray) -> tuple[float, tuple]:
        n_classes = logits.shape[-1]
        labels = self._labels(target, logits.shape)
        z = logits.reshape(-1, n_classes)
        counted = labels != self.ignore_index
        if counted.all():
            counted = None  # the common case: every position counts, no masking passes
            rows, kept = np.arange(len(labels)), labels
        else:
            rows = np.flatnonzero(counted)
            kept = labels[rows]
        shifted = z - z.max(axis=1, keepdims=True)  # z − max z: no exp can overflow
        probabilities = np.exp(shifted)
        sums = probabilities.sum(axis=1)
        probabilities /= sums[:, None]  # p = softmax(z), kept for the gradient
        m = len(rows)
        if m == 0:
            raise BarenetError(f"every target equals ignore_index={self.ignore_index}: nothing to learn from")
        # L = −mean log p[y] = mean(log Σⱼ e^(zⱼ − max z) − (z[y] − max z)), each term ≥ 0
        log_sums = np.log(sums) if counted is None else np.log(sums[rows])
        value = float((log_sums - shifted[rows, kept]).sum()) / m
        return value, (probabilities, rows, kept, counted, logits.shape)

    def backward(self, cache: tuple) -> np.ndarray:
        probabilities, rows, labels, counted, shape = cache
        grad = probabilities.copy()
        grad[rows, labels] -= 1  # dZ = (softmax(Z) − Y) / m, in place on the copy
        grad *= 1 / len(rows)
        if counted is not None:
            grad[~counted] = 0  # ignored positions give no gradient
        return grad.reshape(shape)

    def _labels(self, target: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The target as flat int64 class ids, one per position of ``shape[:-1]``."""
        n_classes = shape[-1]
        target = np.asarray(target)
        if len(shape) == 2:
            ids = target
        elif target.shape == shape[:-1]:
            ids = target.reshape(-1)
        else:
            raise BarenetError(
                f"target must hold one class id per position, shape {shape[:-1]}; got shape {target.shape}"
            )
        if ids.dtype.kind in "iu" and (ids == self.ignore_index).any():
            ignored = ids == self.ignore_index
            labels = check_class_labels(np.where(ignored, 0, ids), n_classes, name="target")
            labels[ignored.reshape(-1)] = self.ignore_index
        else:
            labels = check_class_labels(ids, n_classes, name="target")
        if len(labels) != int(np.prod(shape[:-1])):
            raise BarenetError(f"target has {len(labels)} samples but the output has {shape[0]}")
        return labels

    def __repr__(self) -> str:
        if self.ignore_index == -100:
            return "CrossEntropy()"
        return f"CrossEntropy(ignore_index={self.ignore_index})"


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy from logits, for 0/1 targets of the output's shape.

    L = mean(max(z, 0) − z·y + log(1 + e^−|z|)), the stable form of
    −[y log σ(z) + (1 − y) log(1 − σ(z))].
    """

    from_logits = True
    name = "binary_cross_entropy"

    def forward(self, logits: np.ndarray, target: np.ndarray) -> tuple[float, tuple]:
        target = _match_shape(np.asarray(target, dtype=logits.dtype), logits.shape)
        if np.any((target < 0) | (target > 1)):
            raise BarenetError("BinaryCrossEntropy targets must lie in [0, 1]")
        loss = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
        return float(loss.mean()), (sigmoid(logits), target)  # σ(Z) now: the caller may reuse logits

    def backward(self, cache: tuple) -> np.ndarray:
        probabilities, target = cache
        grad = probabilities - target  # dZ = (σ(Z) − Y) / N, a new array
        grad /= grad.size
        return grad


class MSE(Loss):
    """Mean squared error over every element: L = mean((ŷ − y)²), as PyTorch's ``MSELoss``.

    ``half=True`` gives the textbook ½·mean((ŷ − y)²), whose gradient has no factor 2.
    """

    name = "mse"

    def __init__(self, half: bool = False) -> None:
        check_type("half", half, (bool, np.bool_), "True or False")
        self.half = bool(half)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        target = _match_shape(np.asarray(target, dtype=prediction.dtype), prediction.shape)
        error = prediction - target
        factor = 0.5 if self.half else 1.0
        return float(factor * np.mean(error**2)), error  # L = mean((Ŷ − Y)²)

    def backward(self, error: np.ndarray) -> np.ndarray:
        factor = 1.0 if self.half else 2.0
        return error * (factor / error.size)  # dŶ = 2(Ŷ − Y) / N, a new array

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
    """``"cross_entropy"`` → ``CrossEntropy()``; a ``Loss`` object is returned as it is, anything
    else is refused with a ``TypeError`` naming the parameter."""
    return resolve(loss, LOSSES, "loss", Loss, "loss")

"""``Sequential``: layers applied one after another, and the backward pass through them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .activations import ACTIVATIONS, Sigmoid, Softmax
from .init import Initializer
from .layer import Layer
from .layers import Dense, Dropout
from .losses import L2Penalty, Loss
from .parameter import Parameter
from .validation import as_generator, check_array, check_features, resolve

TASKS = ("classification", "regression")


class BatchResult(NamedTuple):
    """What one forward and backward pass produced."""

    loss: float
    output: np.ndarray
    input_grad: np.ndarray | None


class Sequential:
    """An ordered stack of layers: ``model.forward(x)`` runs them first to last,
    ``model.backward(grad)`` runs their backward passes last to first.

    A trailing ``Softmax`` (or ``Sigmoid``) is the model's *output activation*. Losses that
    work on logits (cross-entropy) skip it and fuse it into their own gradient, so the
    model outputs probabilities yet trains stably.

    Args:
        *layers: the layers, or one list of them.
        task: "classification" or "regression"; inferred when omitted (a trailing
            Softmax means classification).
    """

    def __init__(self, *layers: Layer | Sequence[Layer], task: str | None = None) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {index} is a {type(layer).__name__}, not a barenet Layer")
        self.layers: list[Layer] = list(layers)
        self.in_features, self.out_features = self._check_widths()
        if task is None:
            task = "classification" if isinstance(self.layers[-1], Softmax) else "regression"
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}; got {task!r}")
        self.task = task
        dtypes = {p.value.dtype for p in self.parameters()}
        self.dtype = dtypes.pop() if len(dtypes) == 1 else np.dtype(np.float32)

    def _check_widths(self) -> tuple[int, int]:
        """Walk the widths through the layers; refuse a layer whose input does not fit."""
        width = in_features = None
        for index, layer in enumerate(self.layers):
            required = layer.input_features()
            if required is not None:
                if width is not None and width != required:
                    raise ValueError(
                        f"layer {index} ({type(layer).__name__}) expects {required} inputs but the "
                        f"layer before it outputs {width}; make them agree"
                    )
                in_features = required if in_features is None else in_features
                width = required
            if width is not None:
                width = layer.output_features(width)
        if in_features is None:
            raise ValueError("a Sequential model needs at least one Dense layer to fix its widths")
        return in_features, width

    # ---- the two passes -------------------------------------------------------------------

    @property
    def output_activation(self) -> Layer | None:
        """The trailing Softmax or Sigmoid, if any."""
        last = self.layers[-1]
        return last if isinstance(last, (Softmax, Sigmoid)) else None

    def _body(self, logits: bool) -> list[Layer]:
        if logits and self.output_activation is not None:
            return self.layers[:-1]
        return self.layers

    def forward(self, x: np.ndarray, training: bool = False, logits: bool = False) -> np.ndarray:
        """Outputs of shape (n_samples, out_features) for ``x`` of shape (n_samples, in_features).

        ``logits=True`` stops before the output activation. ``training=True`` turns dropout on.
        """
        check_features(x, self.in_features)
        for layer in self._body(logits):
            x = layer.forward(x, training)
        return x

    def backward(
        self, grad_output: np.ndarray, logits: bool = False, input_grad: bool = False
    ) -> np.ndarray | None:
        """Backpropagate ∂loss/∂output; fills every ``parameter.grad``.

        Returns ∂loss/∂input only when ``input_grad=True``; otherwise the backward pass stops
        at the first layer with parameters, which needs no dX.
        """
        layers = self._body(logits)
        first = self._first_trainable(layers)
        grad = grad_output
        for index in range(len(layers) - 1, -1, -1):
            layer = layers[index]
            if index == first and not input_grad:
                layer.backward_parameters(grad)
                return None
            grad = layer.backward(grad)
        return grad

    @staticmethod
    def _first_trainable(layers: list[Layer]) -> int:
        return next((index for index, layer in enumerate(layers) if layer.parameters()), -1)

    def compute_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        loss: Loss,
        l2: L2Penalty | None = None,
        training: bool = True,
        input_grad: bool = False,
    ) -> BatchResult:
        """One forward and backward pass on a batch. The gradients are left in
        ``parameter.grad`` for an optimiser; returns the loss (with L2), the output the loss
        saw (logits for cross-entropy) and, when asked, ∂loss/∂x."""
        output = self.forward(x, training, logits=loss.from_logits)
        value = loss.forward(output, y)
        grad_x = self.backward(loss.backward(), logits=loss.from_logits, input_grad=input_grad)
        if l2 is not None and l2.strength:
            parameters = self.parameters()
            value += l2.value(parameters, len(x))
            l2.add_gradient(parameters, len(x))
        return BatchResult(value, output, grad_x)

    def loss_value(
        self, x: np.ndarray, y: np.ndarray, loss: Loss, l2: L2Penalty | None = None,
        training: bool = False,
    ) -> float:
        """The loss (with L2) on a batch, forward pass only."""
        value = loss.forward(self.forward(x, training, logits=loss.from_logits), y)
        if l2 is not None and l2.strength:
            value += l2.value(self.parameters(), len(x))
        return value

    # ---- using a trained model ------------------------------------------------------------

    def _checked_input(self, x) -> np.ndarray:
        array = check_array(x, "x", self.dtype)
        check_features(array, self.in_features)
        return array

    def predict_scores(self, x, batch_size: int = 8192, logits: bool = False) -> np.ndarray:
        """Outputs for many samples, computed in large batches; input checked at the door."""
        x = self._checked_input(x)
        outputs = [
            self.forward(x[start : start + batch_size], logits=logits)
            for start in range(0, len(x), batch_size)
        ]
        if not outputs:
            return np.empty((0, self.out_features), dtype=self.dtype)
        return np.concatenate(outputs)

    def predict(self, x, batch_size: int = 8192) -> np.ndarray:
        """Class ids ``(n_samples,)`` for a classifier, values ``(n_samples, out)`` otherwise."""
        if self.task == "regression":
            return self.predict_scores(x, batch_size)
        scores = self.predict_scores(x, batch_size, logits=True)
        if scores.shape[1] == 1:
            return (scores[:, 0] > 0).astype(np.int64)
        return scores.argmax(axis=1)

    def predict_proba(self, x, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` of a classifier."""
        if self.task != "classification" or self.output_activation is None:
            raise ValueError(
                "predict_proba needs a classifier ending in a Softmax or Sigmoid layer; "
                f"this model's task is {self.task!r} and its last layer is "
                f"{type(self.layers[-1]).__name__}"
            )
        probabilities = self.predict_scores(x, batch_size)
        if probabilities.shape[1] == 1:
            return np.hstack([1 - probabilities, probabilities])
        return probabilities

    # ---- bookkeeping ----------------------------------------------------------------------

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def parameter_names(self) -> list[str]:
        """Names such as ``"1.Dense.weight"``, in the order of :meth:`parameters`."""
        return [
            f"{index}.{type(layer).__name__}.{p.name}"
            for index, layer in enumerate(self.layers)
            for p in layer.parameters()
        ]

    def astype(self, dtype: np.dtype | type) -> Sequential:
        """Convert every parameter and buffer to ``dtype``, in place; returns the model."""
        for layer in self.layers:
            layer.astype(dtype)
        self.dtype = np.dtype(dtype)
        return self

    def summary(self) -> str:
        """A table of the layers, their output shapes and parameter counts."""
        rows = [("#", "layer", "output shape", "parameters")]
        width = None
        for index, layer in enumerate(self.layers):
            width = width if width is not None else layer.input_features()
            width = layer.output_features(width) if width is not None else None
            count = sum(p.size for p in layer.parameters())
            shape = f"(n, {width})" if width is not None else "(n, ?)"
            rows.append((str(index), repr(layer), shape, f"{count:,}"))
        sizes = [max(len(row[column]) for row in rows) for column in range(4)]
        lines = ["  ".join(c.ljust(s) for c, s in zip(row, sizes)).rstrip() for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        total = sum(p.size for p in self.parameters())
        lines += ["-" * len(lines[0]), f"total parameters: {total:,} ({self.dtype}), task: {self.task}"]
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file, atomically (see :func:`barenet.load`)."""
        from .saving import save_model

        return save_model(self, path)

    def fit(self, x, y, **options):
        """Train the model; see :func:`barenet.training.fit` for the options. Returns a History."""
        from .training import fit

        return fit(self, x, y, **options)

    def evaluate(self, x, y, **options) -> dict[str, float]:
        """Loss and metrics on (x, y); see :func:`barenet.training.evaluate`."""
        from .training import evaluate

        return evaluate(self, x, y, **options)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner},\n    task={self.task!r},\n)"


def mlp(
    layer_sizes: Sequence[int],
    activation: str = "relu",
    output_activation: str | None = None,
    task: str = "classification",
    dropout: float = 0.0,
    init: str | Initializer | None = None,
    bias_init: str | Initializer = "zeros",
    preprocessing: Sequence[Layer] = (),
    rng: np.random.Generator | int | None = None,
    dtype: np.dtype | type = np.float32,
) -> Sequential:
    """Build a fully connected network: ``mlp([784, 256, 128, 10])``.

    Hidden layers get ``activation`` (and dropout when ``dropout > 0``); the output layer
    gets ``output_activation``: by default softmax for classification with several
    classes, sigmoid for one output, identity for regression. ``init`` defaults to He for
    (leaky) ReLU and Xavier otherwise. ``preprocessing`` layers (e.g. ``Rescale(1/255)``)
    come first, so the model takes raw inputs.
    """
    sizes = [int(size) for size in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"layer_sizes needs at least two positive sizes (inputs, outputs); got {list(layer_sizes)}"
        )
    resolve(activation, ACTIVATIONS, "activation")
    if output_activation is None:
        if task == "regression":
            output_activation = "identity"
        else:
            output_activation = "softmax" if sizes[-1] > 1 else "sigmoid"
    if init is None:
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    rng = as_generator(rng)
    layers: list[Layer] = list(preprocessing)
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(fan_in, fan_out, init=init, bias_init=bias_init, rng=rng, dtype=dtype))
        if index < len(sizes) - 2:
            layers.append(resolve(activation, ACTIVATIONS, "activation"))
            if dropout:
                layers.append(Dropout(dropout, rng=rng))
        elif output_activation not in ("identity", "linear"):
            layers.append(resolve(output_activation, ACTIVATIONS, "output activation"))
    return Sequential(layers, task=task)

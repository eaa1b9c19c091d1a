"""``Sequential``: layers applied one after another, and the backward pass through them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import BarenetError, ShapeError
from ..layers import Layer, Shape, Sigmoid, Softmax, walk_layers
from ..losses import L2Penalty, Loss
from ..parameter import FlatParameters, Parameter
from ..saving.archive import write_npz_atomic
from ..training import BatchResult, History, evaluate, fit
from ..validation import check_float_dtype
from .description import describe, summary
from .inputs import as_input, check_input, prediction_batch_size

TASKS = ("classification", "regression")


class Tape(NamedTuple):
    """What one training forward pass recorded for its backward pass: the layers it ran
    and each one's cache. It belongs to the training step that made it, not to the model."""

    layers: list[Layer]
    caches: list[Any]


class Sequential:
    """An ordered stack of layers: ``forward`` runs them first to last, ``backward`` runs
    their backward passes last to first.

    The model owns its parameters: one flat buffer (``self.flat``) that optimisers borrow,
    read and written with :meth:`get_weights` and :meth:`set_weights`. Prediction records
    nothing, so it is safe from many threads. A trailing ``Softmax`` (or ``Sigmoid``) is the
    *output activation*: losses on logits (cross-entropy) skip it and fuse it into their gradient.

    Args:
        *layers: the layers, or one list of them.
        task: "classification" or "regression". Omitted, a trailing Softmax means
            classification and a trailing Sigmoid must be told (it may be either).
        input_shape: the per-sample input shape, when no layer states it (e.g. a model that
            starts with a convolution); otherwise taken from the layers.

    Shape:
        input ``(n, *input_shape)``, output ``(n, *output_shape)``.
    """

    def __init__(
        self, *layers: Layer | Sequence[Layer], task: str | None = None, input_shape: Shape | None = None
    ) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        if not layers:
            raise BarenetError("Sequential needs at least one layer")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {index} is a {type(layer).__name__}, not a barenet Layer")
        self.layers: list[Layer] = list(layers)
        self.input_shape = self._find_input_shape(input_shape)
        self.shapes = self._walk_shapes()
        self.output_shape = self.shapes[-1]
        self.task = self._resolve_task(task)
        dtypes = {p.value.dtype for p in self.parameters()}
        if len(dtypes) > 1:
            raise BarenetError(f"the layers mix dtypes {sorted(map(str, dtypes))}; build them with one dtype")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        self.flat = FlatParameters(self.parameters()) if self.parameters() else None
        self.metadata: dict[str, Any] = {}  # JSON facts about the data (class names, ...), saved with it

    def _find_input_shape(self, given: Shape | None) -> Shape:
        if given is not None:
            return tuple(int(size) for size in given)
        for index, layer in enumerate(self.layers):
            required = layer.input_shape()
            if required is not None and _passes_through(self.layers[:index], tuple(required)):
                return tuple(required)
        raise ShapeError(
            "a Sequential model needs at least one Dense layer (or another layer that states the shape "
            "of its input) to fix its input shape; otherwise give input_shape=(...), e.g. (1, 28, 28), or "
            "(context,) for a model of token ids, e.g. (64,)"
        )

    def _walk_shapes(self) -> list[Shape]:
        """The per-sample shape after each layer; a layer whose input does not fit is refused."""
        shapes, shape = [], self.input_shape
        for index, layer in enumerate(self.layers):
            required = layer.input_shape()
            fits = shape[len(shape) - len(required):] if required and layer.applies_to_last_axis else shape
            if required is not None and tuple(required) != fits:
                raise ShapeError(
                    f"layer {index} ({type(layer).__name__}) expects {_shape_words(required)} but the "
                    f"{'layer before it outputs' if index else 'model input has'} {_shape_words(shape)}; "
                    "make them agree"
                )
            try:
                shape = tuple(layer.output_shape(shape))
            except ShapeError as error:
                raise ShapeError(f"layer {index} ({type(layer).__name__}) does not fit: {error}") from None
            shapes.append(shape)
        return shapes

    def _resolve_task(self, task: str | None) -> str:
        if task is None:
            if isinstance(self.layers[-1], Sigmoid):
                raise BarenetError(
                    "a model ending in Sigmoid may be a binary classifier or a regression onto (0, 1); "
                    "say which with task='classification' or task='regression'"
                )
            task = "classification" if isinstance(self.layers[-1], Softmax) else "regression"
        if task not in TASKS:
            raise BarenetError(f"task must be one of {TASKS}; got {task!r}")
        return task

    @property
    def in_features(self) -> int:
        """The input width of a model that takes flat rows (the size of one sample otherwise)."""
        return int(np.prod(self.input_shape))

    @property
    def out_features(self) -> int:
        return int(np.prod(self.output_shape))

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

    def forward(self, x: np.ndarray, *, training: bool = False, logits: bool = False) -> np.ndarray:
        """Outputs ``(n, *output_shape)`` for ``x`` of shape ``(n, *input_shape)``; records nothing.

        ``logits=True`` stops before the output activation. ``training=True`` turns dropout on.
        """
        check_input(x, self.layers, self.input_shape)
        for layer in self._body(logits):
            x = layer.forward(x, training=training)
        return x

    def forward_with_cache(
        self, x: np.ndarray, *, training: bool = False, logits: bool = False
    ) -> tuple[np.ndarray, Tape]:
        """The forward pass and the :class:`Tape` that ``backward`` needs.

        A training step asks for ``training=True`` (dropout on, batch statistics); the default,
        prediction mode, records the tape of the pass ``forward`` makes, for gradient checks
        and saliency maps of a trained model.
        """
        check_input(x, self.layers, self.input_shape)
        layers, caches = self._body(logits), []
        for layer in layers:
            x, cache = layer.forward_with_cache(x, training=training)
            caches.append(cache)
        return x, Tape(layers, caches)

    def backward(
        self, grad_output: np.ndarray, tape: Tape, *, input_grad: bool = False
    ) -> np.ndarray | None:
        """Backpropagate ∂loss/∂output through the layers ``tape`` recorded; fills every
        ``parameter.grad``. ``grad_output`` is left as it is.

        Returns ∂loss/∂input only when ``input_grad=True``; otherwise the backward pass stops
        at the first layer with parameters, which needs no dX.
        """
        if not isinstance(tape, Tape):
            raise TypeError(
                "backward needs the tape from forward_with_cache: "
                "output, tape = model.forward_with_cache(x, training=True)"
            )
        first = next((index for index, layer in enumerate(tape.layers) if layer.parameters()), -1)
        grad = grad_output
        for index in range(len(tape.layers) - 1, -1, -1):
            layer, cache = tape.layers[index], tape.caches[index]
            if index == first and not input_grad:
                layer.backward_parameters(grad, cache)
                return None
            grad = layer.backward(grad, cache)
        return grad

    def input_gradient(self, x: np.ndarray, grad_output: np.ndarray, *, logits: bool = False) -> np.ndarray:
        """∂(Σ output ⊙ grad_output)/∂x in prediction mode; touches no ``parameter.grad``, so
        it is safe from many threads (a saliency map: ``grad_output`` one-hot on a class)."""
        _, tape = self.forward_with_cache(x, training=False, logits=logits)
        grad = grad_output
        for layer, cache in zip(reversed(tape.layers), reversed(tape.caches)):
            grad = layer.backward_input(grad, cache)
        return grad

    def compute_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        loss: Loss,
        *,
        l2: L2Penalty | None = None,
        training: bool = True,
        input_grad: bool = False,
    ) -> BatchResult:
        """One forward and backward pass on a batch. The gradients are left in
        ``parameter.grad`` for an optimiser; returns the loss (with L2), the output the loss
        saw (logits for cross-entropy) and, when asked, ∂loss/∂x. ``training=False`` runs
        the forward pass as prediction does (no dropout)."""
        output, tape = self.forward_with_cache(x, training=training, logits=loss.from_logits)
        value, loss_cache = loss.forward(output, y)
        grad_x = self.backward(loss.backward(loss_cache), tape, input_grad=input_grad)
        if l2 is not None and l2.strength:
            parameters = self.parameters()
            value += l2.value(parameters, len(x))
            l2.add_gradient(parameters, len(x))
        return BatchResult(value, output, grad_x)

    def loss_value(
        self, x: np.ndarray, y: np.ndarray, loss: Loss, *, l2: L2Penalty | None = None,
        training: bool = False,
    ) -> float:
        """The loss (with L2) on a batch, forward pass only."""
        value = loss(self.forward(x, training=training, logits=loss.from_logits), y)
        if l2 is not None and l2.strength:
            value += l2.value(self.parameters(), len(x))
        return value

    # ---- using a trained model ------------------------------------------------------------

    def prediction_batch_size(self) -> int:
        """Samples per prediction batch, bounded in working memory (see :mod:`.inputs`)."""
        return prediction_batch_size(self.layers, [self.input_shape, *self.shapes], self.dtype)

    def predict_scores(self, x, batch_size: int | None = None, logits: bool = False) -> np.ndarray:
        """Outputs for many samples, in batches of ``batch_size`` (None: as many as fit in
        PREDICTION_BYTES of working memory); input checked at the door."""
        x = as_input(x, self.layers, self.input_shape, self.dtype)
        batch_size = batch_size or self.prediction_batch_size()
        outputs = [
            self.forward(x[start : start + batch_size], logits=logits)
            for start in range(0, len(x), batch_size)
        ]
        if not outputs:
            return np.empty((0, *self.output_shape), dtype=self.dtype)
        return np.concatenate(outputs)

    def predict(self, x, batch_size: int | None = None) -> np.ndarray:
        """Class ids ``(n_samples,)`` for a classifier (``(n_samples, t)`` for one answer per
        position of a sequence), values ``(n_samples, out)`` otherwise."""
        if self.task == "regression":
            return self.predict_scores(x, batch_size)
        scores = self.predict_scores(x, batch_size, logits=True)
        if scores.shape[-1] == 1:
            return (scores[..., 0] > 0).astype(np.int64)
        return scores.argmax(axis=-1)

    def predict_proba(self, x, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` of a classifier (``(n_samples, t,
        n_classes)`` for a sequence)."""
        if self.task != "classification" or self.output_activation is None:
            raise BarenetError(
                "predict_proba needs a classifier ending in a Softmax or Sigmoid layer; "
                f"this model's task is {self.task!r} and its last layer is "
                f"{type(self.layers[-1]).__name__}"
            )
        probabilities = self.predict_scores(x, batch_size)
        if probabilities.shape[-1] == 1:
            return np.concatenate([1 - probabilities, probabilities], axis=-1)
        return probabilities

    # ---- the parameters it owns -----------------------------------------------------------

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def parameter_names(self) -> list[str]:
        """Names such as ``"1.Dense.weight"`` (``"3.0.LayerNorm.weight"`` inside a block), in the
        order of :meth:`parameters`."""
        return [
            f"{_short(key)}.{type(layer).__name__}.{p.name}"
            for key, layer in walk_layers(self.layers)
            if not layer.sublayers()
            for p in layer.parameters()
        ]

    def get_weights(self, out: np.ndarray | None = None) -> np.ndarray:
        """Every parameter, end to end, as one new 1-D array (or copied into ``out``)."""
        if self.flat is None:
            return np.empty(0, dtype=self.dtype)
        if out is None:
            return self.flat.values.copy()
        np.copyto(out, self.flat.values)
        return out

    def set_weights(self, values: np.ndarray) -> None:
        """Overwrite every parameter from a 1-D array as :meth:`get_weights` returns it."""
        values = np.asarray(values)
        expected = (0,) if self.flat is None else self.flat.values.shape
        if values.shape != expected:
            raise ShapeError(
                f"set_weights needs a 1-D array of {expected[0]} values; got shape {values.shape}"
            )
        if values.dtype.kind != "f" or not np.isfinite(values).all():
            raise BarenetError("set_weights needs finite floating-point values")
        if self.flat is not None:
            np.copyto(self.flat.values, values, casting="same_kind")

    def buffers(self) -> dict[str, np.ndarray]:
        """Every layer's buffers by name, e.g. ``"0.Standardize.mean"``."""
        return {
            f"{_short(key)}.{type(layer).__name__}.{name}": array
            for key, layer in walk_layers(self.layers)
            for name, array in layer.buffers().items()
        }

    def astype(self, dtype: np.dtype | type) -> Sequential:
        """Convert every parameter and buffer to ``dtype`` (float32 or float64), in place, and
        lay the parameters out anew; optimisers built before follow. Returns the model."""
        dtype = check_float_dtype(dtype)
        for layer in self.layers:
            layer.astype(dtype)
        for parameter in self.parameters():
            parameter.astype(dtype)
        self.dtype = dtype
        self.flat = FlatParameters(self.parameters()) if self.parameters() else None
        return self

    # ---- description, files, and the conveniences of Keras ---------------------------------

    def describe(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The JSON description and the named arrays that a model file holds."""
        return describe(self)

    def summary(self) -> str:
        """A table of the layers, the per-sample shape after each, and parameter counts."""
        return summary(self)

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file, atomically (see :func:`barenet.load`)."""
        description, arrays = self.describe()
        return write_npz_atomic(path, arrays, description)

    def fit(self, x, y, **options) -> History:
        """Train the model; see :func:`barenet.training.fit` for the options. Returns a History."""
        return fit(self, x, y, **options)

    def evaluate(self, x, y, **options) -> dict[str, float]:
        """Loss and metrics on (x, y); see :func:`barenet.training.evaluate`."""
        return evaluate(self, x, y, **options)

    def __setstate__(self, state: dict) -> None:
        """After a copy or an unpickle the parameters are separate arrays, no longer views into
        the flat buffer: lay them out anew (optimisers that were copied along follow)."""
        self.__dict__.update(state)
        if self.flat is not None:
            self.flat = FlatParameters(self.parameters())

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner},\n    task={self.task!r},\n)"


def _passes_through(layers: list[Layer], shape: Shape) -> bool:
    """Whether ``layers`` (e.g. a Rescale before the first Dense) leave ``shape`` as it is, so the
    first layer that states its input shape states the model's."""
    try:
        return all(tuple(layer.output_shape(shape)) == shape for layer in layers)
    except ShapeError:
        return False


def _short(key: str) -> str:
    """``"layers.3.layers.0"`` → ``"3.0"``."""
    return key.removeprefix("layers.").replace(".layers.", ".")


def _shape_words(shape: Shape) -> str:
    """``4 inputs`` for a flat shape, ``samples of shape (1, 28, 28)`` otherwise."""
    return f"{shape[0]} inputs" if len(shape) == 1 else f"samples of shape {tuple(shape)}"

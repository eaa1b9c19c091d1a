"""Scoring a model: loss and metrics on a data set, and the checks data passes at the door."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import BarenetError, ShapeError
from ..losses import Loss, get_loss
from ..metrics import accuracy, mean_absolute_error, mean_squared_error, r2_score
from ..validation import check_array, check_class_labels, check_same_length, check_sample_shape

if TYPE_CHECKING:
    from ..model import Sequential


def evaluate(
    model: Sequential, x, y, loss: str | Loss | None = None, batch_size: int | None = None
) -> dict[str, float]:
    """Loss and metrics of ``model`` on (x, y), in evaluation mode (no dropout), computed in
    batches of ``batch_size`` samples (None: the model's
    :meth:`~barenet.model.Sequential.prediction_batch_size`, bounded in memory: a convolutional
    network's im2col of 10,000 images at once would take gigabytes).

    Classification: ``loss`` and ``accuracy``. Regression: ``loss``, ``mse``, ``mae``, ``r2``.
    """
    loss = get_loss(loss if loss is not None else default_loss(model))
    x, y = check_data(model, x, y)
    outputs = model.predict_scores(x, batch_size, logits=loss.from_logits)
    results = {"loss": loss(outputs, y)}
    if model.task == "classification":
        results["accuracy"] = accuracy(y, class_ids(outputs))
    else:
        predictions = outputs if not loss.from_logits else model.predict(x, batch_size)
        y_matrix = y.reshape(predictions.shape)
        results["mse"] = mean_squared_error(y_matrix, predictions)
        results["mae"] = mean_absolute_error(y_matrix, predictions)
        results["r2"] = r2_score(y_matrix, predictions)
    return results


def class_ids(scores: np.ndarray) -> np.ndarray:
    """Predicted classes from logits or probabilities of shape (n, n_classes), or (n, 1) binary;
    ``(n, t)`` classes from the ``(n, t, n_classes)`` scores of a sequence model."""
    return (scores[..., 0] > 0).astype(np.int64) if scores.shape[-1] == 1 else scores.argmax(axis=-1)


def default_loss(model: Sequential) -> str:
    if model.task == "regression":
        return "mse"
    return "binary_cross_entropy" if model.out_features == 1 else "cross_entropy"


def check_data(model: Sequential, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate (x, y) once, at the door. ``x`` keeps a compact dtype (e.g. uint8 pixels):
    batches are converted to the model's dtype as they are drawn."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind in "uif" else model.dtype
    x = check_array(x, "x", dtype, ndim=None)
    if x.ndim == 0 or len(x) == 0:
        raise BarenetError(f"x holds no samples (shape {x.shape}); give at least one")
    check_sample_shape(x, model.input_shape)
    if model.task == "classification" and model.layers[0].takes_sequences and len(model.output_shape) == 2:
        y = np.asarray(y)  # one class per position: (n, t) next-character targets
        if y.shape != x.shape[:2]:
            raise ShapeError(f"y must hold one class id per position, shape {x.shape[:2]}; got {y.shape}")
        y = check_class_labels(y.reshape(-1), max(model.output_shape[-1], 2)).reshape(y.shape)
    elif model.task == "classification":
        n_classes = max(model.out_features, 2)
        y = check_class_labels(y, n_classes)
    else:
        y = check_array(y, "y", model.dtype, ndim=None)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[1:] != (model.out_features,):
            raise ShapeError(
                f"y must have shape (n_samples, {model.out_features}) for this regression model; "
                f"got {y.shape}"
            )
    check_same_length(x, y)
    return x, y


EVALUATION_POSITIONS = 8192


def evaluation_batch(model: Sequential) -> int | None:
    """Samples per forward pass when scoring: for a sequence model as many sequences as hold
    8,192 positions (1,200 windows of 64 at once would hold half a gigabyte); otherwise None,
    the model's own :meth:`~barenet.model.Sequential.prediction_batch_size`, bounded in working
    memory (6,000 validation images through a convolution's im2col at once took 1.3 GB)."""
    if model.layers[0].takes_sequences:
        return max(1, EVALUATION_POSITIONS // model.input_shape[0])
    return None

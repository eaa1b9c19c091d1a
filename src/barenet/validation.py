"""Checks at the door: bad input gets an error that says what was expected and how to fix it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a generator, a seed, or ``None`` (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def resolve(value: str | T, registry: Mapping[str, Callable[..., T]], what: str, **kwargs) -> T:
    """Turn a name such as ``"adam"`` into an object using ``registry``; objects pass through.

    An unknown name raises a ``ValueError`` that lists the valid ones.
    """
    if not isinstance(value, str):
        return value
    key = value.lower().replace("-", "_")
    if key not in registry:
        valid = ", ".join(sorted(registry))
        raise ValueError(f"unknown {what} {value!r}; valid names are: {valid}")
    return registry[key](**kwargs)


def check_array(x, name: str, dtype: np.dtype | type, ndim: int | None = 2) -> np.ndarray:
    """Return ``x`` as a ``dtype`` array, refusing wrong dimensionality and NaN/inf."""
    try:
        array = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric array-like; could not convert it: {error}") from None
    if ndim is not None and array.ndim != ndim:
        hint = " (reshape a single sample with x.reshape(1, -1))" if array.ndim == 1 else ""
        raise ValueError(
            f"{name} must have {ndim} dimensions (n_samples, n_features); "
            f"got shape {array.shape}{hint}"
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite values; clean or impute them first")
    return array


def check_features(x: np.ndarray, n_features: int, name: str = "x") -> None:
    """Refuse a 2-D array whose width is not what the model was built for."""
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_features}); got {x.shape}. "
            f"The model's first layer expects {n_features} features per sample"
        )


def check_same_length(x: np.ndarray, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise ValueError(
            f"x and y must have the same number of samples; got {len(x)} and {len(y)}"
        )


def check_class_labels(y, n_classes: int, name: str = "y") -> np.ndarray:
    """Integer class ids in [0, n_classes) as int64; a one-hot matrix is turned into ids."""
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == n_classes and n_classes > 1:
        if not np.all((labels == 0) | (labels == 1)) or not np.all(labels.sum(axis=1) == 1):
            raise ValueError(f"{name} looks one-hot ({labels.shape}) but its rows are not one-hot")
        return labels.argmax(axis=1).astype(np.int64)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be class ids of shape (n_samples,) or one-hot rows of shape "
            f"(n_samples, {n_classes}); got shape {labels.shape}"
        )
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError(f"{name} must hold whole-number class ids; got non-integer values")
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer class ids; got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{name} holds labels outside [0, {n_classes}): found min {labels.min()}, "
            f"max {labels.max()}. The model has {n_classes} outputs; relabel the classes "
            f"as 0..{n_classes - 1} or widen the last layer"
        )
    return labels

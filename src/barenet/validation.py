"""Checks at the door: bad input gets an error that says what was expected and how to fix it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from .errors import BarenetError, ShapeError

T = TypeVar("T")

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_type(name: str, value: object, accepted: type | tuple[type, ...], description: str) -> None:
    """Refuse an object of the wrong type with a ``TypeError`` naming the parameter."""
    if not isinstance(value, accepted):
        raise TypeError(f"{name} must be {description}; got {type(value).__name__} {value!r}")


def check_int(name: str, value: object, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int in [low, high], refusing bools and floats such as 2.7."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < low or (high is not None and value > high):
        what = "a positive integer" if low == 1 and high is None else f"an integer >= {low}"
        if high is not None:
            what = f"an integer in [{low}, {high}]"
        raise BarenetError(f"{name} must be {what}; got {value!r}")
    return int(value)


def check_pair(name: str, value: object, low: int = 1) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each at least ``low``, as a pair."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low for v in values
    ):
        raise BarenetError(
            f"{name} must be an integer >= {low} or a pair of them (height, width); got {value!r}"
        )
    return int(values[0]), int(values[1])


def check_number(
    name: str, value: object, low: float | None = None, high: float | None = None,
    low_open: bool = False, high_open: bool = False,
) -> float:
    """``value`` as a finite float inside [low, high] (either end open when asked)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise BarenetError(f"{name} must be a finite number; got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low and high is None:
        raise BarenetError(f"{name} must be {'>' if low_open else '>='} {low:g}; got {value!r}")
    if too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        lower = "-inf" if low is None else f"{low:g}"
        upper = "inf" if high is None else f"{high:g}"
        raise BarenetError(f"{name} must be in {left}{lower}, {upper}{right}; got {value!r}")
    return value


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``; otherwise an error listing them."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise BarenetError(f"{name} must be one of {listed}; got {value!r}")
    return value


def check_float_dtype(dtype: object, name: str = "dtype") -> np.dtype:
    """float32 or float64 as a NumPy dtype; anything else (int, bool, float16) is refused."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in FLOAT_DTYPES:
        raise BarenetError(
            f"{name} must be float32 or float64 (what barenet computes in); got {dtype!r}"
        )
    return resolved


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a generator, a seed, or ``None`` (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def resolve(value: str | T, registry: Mapping[str, Callable[..., T]], what: str, accepted: type, name: str,
            /, **kwargs) -> T:
    """Turn a name such as ``"adam"`` into an object using ``registry``; an object of the
    ``accepted`` type passes through.

    Anything else (``5``) is refused at the door with a ``TypeError`` naming the parameter
    ``name``; an unknown name raises a :class:`BarenetError` that lists the valid ones.
    """
    if isinstance(value, accepted):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a name ({', '.join(sorted(registry))}) or an instance of "
            f"{accepted.__name__}; got {type(value).__name__} {value!r}"
        )
    key = value.lower().replace("-", "_")
    if key not in registry:
        valid = ", ".join(sorted(registry))
        raise BarenetError(f"unknown {what} {value!r}; valid names are: {valid}")
    return registry[key](**kwargs)


def check_array(x, name: str, dtype: np.dtype | type, ndim: int | None = 2) -> np.ndarray:
    """Return ``x`` as a ``dtype`` array, refusing wrong dimensionality and NaN/inf."""
    try:
        array = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise BarenetError(f"{name} must be numeric array-like; could not convert it: {error}") from None
    if ndim is not None and array.ndim != ndim:
        hint = " (reshape a single sample with x.reshape(1, -1))" if array.ndim == 1 else ""
        raise ShapeError(
            f"{name} must have {ndim} dimensions (n_samples, n_features); "
            f"got shape {array.shape}{hint}"
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise BarenetError(f"{name} contains {bad} NaN or infinite values; clean or impute them first")
    return array


def check_sample_shape(x: np.ndarray, sample_shape: tuple[int, ...], name: str = "x") -> None:
    """Refuse a batch whose per-sample shape is not what the model was built for."""
    sample_shape = tuple(sample_shape)
    if x.ndim != 1 + len(sample_shape):
        axes = "(n_samples, n_features)" if len(sample_shape) == 1 else _batch_shape_text(sample_shape)
        hint = " (reshape a single sample with x.reshape(1, -1))" if x.ndim == len(sample_shape) == 1 else ""
        raise ShapeError(
            f"{name} must have {1 + len(sample_shape)} dimensions {axes}; got shape {x.shape}{hint}"
        )
    if x.shape[1:] != sample_shape:
        if len(sample_shape) == 1:
            raise ShapeError(
                f"{name} must have shape (n_samples, {sample_shape[0]}); got {x.shape}: {x.shape[1]} "
                f"features per sample but the model's first layer expects {sample_shape[0]} features; "
                "reshape the data or change the input size of the first layer"
            )
        raise ShapeError(f"{name} must have shape {_batch_shape_text(sample_shape)}; got {x.shape}")


def _batch_shape_text(sample_shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(["n_samples", *map(str, sample_shape)]) + ")"


def check_same_length(x: np.ndarray, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise BarenetError(
            f"x and y must have the same number of samples; got {len(x)} and {len(y)}"
        )


def check_class_labels(y, n_classes: int, name: str = "y") -> np.ndarray:
    """Integer class ids in [0, n_classes) as int64; a one-hot matrix is turned into ids."""
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == n_classes and n_classes > 1:
        if not np.all((labels == 0) | (labels == 1)) or not np.all(labels.sum(axis=1) == 1):
            raise BarenetError(f"{name} looks one-hot ({labels.shape}) but its rows are not one-hot")
        return labels.argmax(axis=1).astype(np.int64)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise BarenetError(
            f"{name} must be class ids of shape (n_samples,) or one-hot rows of shape "
            f"(n_samples, {n_classes}); got shape {labels.shape}"
        )
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise BarenetError(f"{name} must hold whole-number class ids; got non-integer values")
    elif labels.dtype.kind not in "iub":
        raise BarenetError(f"{name} must hold integer class ids; got dtype {labels.dtype}")
    labels = labels.astype(np.int64, copy=False)  # the windows of a whole text: one copy is enough
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise BarenetError(
            f"{name} holds labels outside [0, {n_classes}): found min {labels.min()}, "
            f"max {labels.max()}. The model has {n_classes} outputs; relabel the classes "
            f"as 0..{n_classes - 1} or widen the last layer"
        )
    return labels

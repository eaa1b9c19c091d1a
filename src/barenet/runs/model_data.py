"""What a model trained by ``barenet train`` carries from its data: the feature scaling fitted
on the training split, the target scaling of a regression, and the facts kept in its file
(class names, feature names, label column, ink statistics of images).

Robust feature scaling (``--preprocess robust``, the csv/npz default) standardises each
feature by its mean and standard deviation, computed with extreme outliers clipped: a value
more than :data:`OUTLIER_LIMIT` spreads from the feature's median counts as that limit, where
the spread is the interquartile range / 1.349 (else the 5-95 % range / 3.29, else the
standard deviation; each is σ for normal data). On ordinary data this is plain
standardisation; one ``1e30`` typo no longer squashes every other value of its column to 0.
Each such value is reported, naming its column, and the model is trained on it clipped to
that limit (so one typo cannot make training diverge).

Regression targets are standardised inside the model: the last layer maps the network's
standardised output back, ``y = z·σ + μ`` with the training targets' mean and standard
deviation, so the network learns numbers near 1 while predictions (and the loss) are in the
user's units.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..errors import ModelFileError
from ..layers import Layer, Rescale, Standardize
from ..model import Sequential
from ..model.generation import model_vocabulary
from .config import SMALL_DATA_STEPS, RunConfig
from .data_sources import Data
from .images import INK_MEASURES, ink_statistics
from .run_folders import absolute_dataset

OUTLIER_LIMIT = 1000.0  # robust standard deviations from the median


def extreme_limits(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature of ``x`` (n, features): the median and how far from it a value may lie."""
    median = np.median(x, axis=0)
    q05, q25, q75, q95 = np.percentile(x, [5, 25, 75, 95], axis=0)
    tiny = 1e-8 * np.maximum(1.0, np.abs(median))
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.nan_to_num(x.std(axis=0), nan=np.inf, posinf=np.inf)
    for robust in ((q95 - q05) / 3.29, (q75 - q25) / 1.349):  # a normal distribution's σ, from quantiles
        spread = np.where(robust > tiny, robust, spread)
    spread = np.where(np.isfinite(spread) & (spread > tiny), spread, 1.0)
    return median, OUTLIER_LIMIT * spread


def clip_extremes(
    x: np.ndarray, feature_names: list[str] | None, place: Callable[[int], str] = lambda row: f"row {row + 1}"
) -> np.ndarray:
    """``x`` with each extreme value clipped to its feature's limit, and a warning naming the
    column and, by ``place(row)``, where the row is; ``x`` itself when there is none."""
    values = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    median, limit = extreme_limits(values)
    distance = np.abs(values - median)
    extreme = distance > limit
    if not extreme.any():
        return x
    for column in np.flatnonzero(extreme.any(axis=0)):
        row = int(distance[:, column].argmax())
        name = repr(feature_names[column]) if feature_names else f"{column + 1}"
        warnings.warn(
            f"feature {name} has {int(extreme[:, column].sum())} extreme value(s), e.g. "
            f"{values[row, column]:.4g} in {place(row)}, far from its median {median[column]:.4g}; "
            f"barenet trains on them clipped to the median ± {limit[column]:.4g}, but check those cells "
            "(a typo? a missing-value code?)",
            stacklevel=2,
        )
    clipped = np.clip(values, median - limit, median + limit)
    return clipped.astype(np.asarray(x).dtype if np.asarray(x).dtype.kind == "f" else np.float32).reshape(
        x.shape
    )


def robust_scaling(x: np.ndarray, dtype: str) -> Standardize:
    """A Standardize layer whose statistics extreme outliers cannot ruin (see the docstring)."""
    values = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    median, limit = extreme_limits(values)
    clipped = np.clip(values, median - limit, median + limit)
    mean, std = clipped.mean(axis=0), clipped.std(axis=0)
    return Standardize(mean, np.where(std > 1e-8 * np.maximum(1.0, np.abs(mean)), std, 1.0), dtype=dtype)


def target_scaling(y: np.ndarray, dtype: str) -> Layer:
    """The last layer of a regression model: ``y = z·σ + μ`` per target (see the docstring)."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    mean, std = y.mean(axis=0), y.std(axis=0)
    std = np.where(std > 1e-8 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    if y.shape[1] == 1:
        return Rescale(float(std[0]), float(mean[0]))
    return Standardize(-mean / std, 1 / std, dtype=dtype)  # (z − (−μ/σ)) / (1/σ) = z·σ + μ


def scales_targets(config: RunConfig, task: str) -> bool:
    """Whether the model gets :func:`target_scaling`: regressions with an identity output."""
    return task == "regression" and config.output_activation == "identity"


def decisions(config: RunConfig, data: Data, y_train: np.ndarray) -> list[str]:
    """The start-of-training block: what was decided for the user."""
    lines = list(data.notes)
    if data.name.split(":", 1)[0] in ("csv", "npz"):
        scaling = {
            "robust": "standardisation of each feature, extreme outliers clipped, inside the model",
            "standardize": "standardisation of each feature (mean and standard deviation), inside the model",
            "scale": "one scale for all features, to [0, 1], inside the model",
            "none": "none",
        }[config.preprocess]
        lines.append(f"feature scaling: {scaling}")
    if scales_targets(config, data.task):
        y = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
        lines.append(
            f"targets: standardised inside the model (mean {y.mean():.4g}, std {y.std():.4g}); "
            "predictions are in the file's units"
        )
    return lines


def epochs_note(config: RunConfig) -> str:
    """Said when the epochs came from the small-data rule."""
    return (
        f"epochs: {config.epochs}, for at least {SMALL_DATA_STEPS} optimiser steps in all "
        "(the csv/npz default; give --epochs to choose)"
    )


def model_metadata(data: Data, x_train: np.ndarray) -> dict:
    """The facts a model file keeps about its data (JSON)."""
    metadata = {**data.metadata(), "dataset": absolute_dataset(data.name)}  # the same when resumed
    if data.image_shape is not None and len(x_train):
        metadata["ink_statistics"] = ink_statistics(np.asarray(x_train).reshape(len(x_train), -1))
    return metadata


def checked_metadata(model: Sequential, source: str) -> dict:
    """``model.metadata`` with every known fact checked (a model file may have been edited);
    unknown keys are dropped."""
    metadata = model.metadata if isinstance(model.metadata, dict) else {}
    checked: dict = {}

    def strings(key: str, count: int) -> None:
        value = metadata.get(key)
        if value is None:
            return
        if not isinstance(value, list) or len(value) != count or not all(isinstance(v, str) for v in value):
            raise ModelFileError(
                f"{source}: metadata.{key} must be a list of {count} strings; the file is damaged"
            )
        checked[key] = value

    if model.task == "classification":
        strings("class_names", max(model.out_features, 2))
    strings("feature_names", model.in_features)
    label_name, label_column = metadata.get("label_name"), metadata.get("label_column")
    if isinstance(label_name, str):
        checked["label_name"] = label_name
    if isinstance(label_column, int) and not isinstance(label_column, bool) and label_column >= 1:
        checked["label_column"] = label_column
    if isinstance(metadata.get("dataset"), str):
        checked["dataset"] = metadata["dataset"]
    statistics = metadata.get("ink_statistics")
    if statistics is not None:
        valid = isinstance(statistics, dict) and all(
            isinstance(statistics.get(name), list)
            and len(statistics[name]) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in statistics[name])
            for name in INK_MEASURES
        )
        if not valid:
            raise ModelFileError(f"{source}: metadata.ink_statistics is malformed; the file is damaged")
        checked["ink_statistics"] = statistics
    if metadata.get("vocabulary") is not None:
        checked["vocabulary"] = model_vocabulary(model, source).to_dict()
    return checked

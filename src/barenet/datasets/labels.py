"""From a column of labels to what a model learns: class ids 0..k-1 (with the names they stand
for) or regression targets.

The task, unless given, is decided by one rule (:func:`detect_task`):

* labels that are not all numbers (``cat``, ``dog``) are classes;
* whole numbers with at most :data:`MAX_AUTO_CLASSES` distinct values are classes;
* anything else (a fraction anywhere, or more distinct whole numbers) is a regression target.

Classes are sorted (numerically when they are numbers) and numbered 0..k-1, so labels 1..10
make ten classes, sparse ids (3, 17, 40) three, and the names come back in predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from barenet.datasets.csv_files import FLOAT32_MAX
from barenet.datasets.errors import DatasetError

TASKS = ("classification", "regression")
MAX_AUTO_CLASSES = 20
"""Whole-number labels with more distinct values than this are taken as regression targets."""

Locate = Callable[[int], str]
"""Where the i-th label came from, for messages: ``"line 7, column 5"`` or ``"y_train[6]"``."""


@dataclass
class Labels:
    """Encoded labels: ``y`` int64 class ids ``(n,)`` or float32 targets ``(n, k)``."""

    y: np.ndarray
    task: str
    class_names: list[str] | None
    note: str  # the decision, in words, for the start-of-training block


def as_numbers(values: np.ndarray) -> np.ndarray | None:
    """``values`` as float64 if every one reads as a number, else None."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    try:
        return np.array([float(value) for value in values.ravel()], dtype=np.float64).reshape(values.shape)
    except (ValueError, TypeError, OverflowError):
        return None


def class_name(value: float) -> str:
    """``3.0`` → ``"3"``, ``0.5`` → ``"0.5"``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def detect_task(numbers: np.ndarray | None) -> tuple[str, str]:
    """The task the rule above picks, and why."""
    if numbers is None:
        return "classification", "the labels are text"
    distinct = len(np.unique(numbers))
    if numbers.ndim > 1 and numbers.shape[1] > 1:
        return "regression", f"there are {numbers.shape[1]} target values per sample"
    if not np.all(numbers == np.round(numbers)):
        return "regression", "the labels include fractions"
    if distinct > MAX_AUTO_CLASSES:
        return "regression", f"the labels are {distinct} distinct whole numbers (> {MAX_AUTO_CLASSES})"
    return "classification", f"the labels are {distinct} distinct whole numbers (<= {MAX_AUTO_CLASSES})"


def check_float32_range(targets: np.ndarray, locate: Locate) -> None:
    """Refuse regression targets ``(n, k)`` that float32, what a model trains in, cannot hold
    (they would become ±inf); the message names the first such label."""
    rows = np.flatnonzero((np.abs(targets) > FLOAT32_MAX).any(axis=1))
    if len(rows):
        value = targets[rows[0]][np.abs(targets[rows[0]]) > FLOAT32_MAX][0]
        raise DatasetError(
            f"{locate(int(rows[0]))}: the label {value:g} is beyond float32's range (±3.4e38), which barenet "
            "trains in; rescale the target (e.g. divide the column by a power of ten) or drop the row."
        )


def check_missing(values: np.ndarray, locate: Locate) -> None:
    if values.dtype.kind in "US":
        empty = np.flatnonzero(np.char.strip(values.astype(str)) == "")
        if len(empty):
            raise DatasetError(f"{locate(int(empty[0]))}: missing label; every row needs one.")


def encode_labels(
    values: Sequence | np.ndarray,
    locate: Locate,
    task: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Labels:
    """Encode raw labels (text or numbers). ``class_names`` (from a trained model) fixes the
    classes, so a test file is numbered like the training file."""
    values = np.asarray(values)
    if task is not None and task not in TASKS:
        raise DatasetError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    check_missing(values, locate)
    numbers = as_numbers(values)
    if numbers is not None:
        bad = np.flatnonzero(~np.isfinite(numbers).reshape(len(numbers), -1).all(axis=1))
        if len(bad):
            raise DatasetError(
                f"{locate(int(bad[0]))}: missing label ({values.reshape(len(values), -1)[bad[0]].tolist()}); "
                "every row needs a finite label."
            )
    if class_names is not None:
        task = "classification"
    reason = "given with --task"
    if task is None:
        task, reason = detect_task(numbers)
    if task == "regression":
        if numbers is None:
            text = np.char.strip(values.astype(str))
            first = next(i for i, value in enumerate(text) if as_numbers(np.array([value])) is None)
            raise DatasetError(
                f"{locate(first)}: the label {str(text[first])!r} is not a number, but the task is "
                "regression; use --task classification for text labels."
            )
        targets = numbers.reshape(len(numbers), -1)
        check_float32_range(targets, locate)
        targets = targets.astype(np.float32)
        return Labels(targets, "regression", None, f"task: regression ({reason}); pass --task to change it")
    if values.ndim != 1:
        raise DatasetError(f"class labels must be one per sample, shape (n,); got shape {values.shape}")
    keys = numbers if numbers is not None else np.char.strip(values.astype(str))
    names = (
        [class_name(key) for key in np.unique(keys)] if numbers is not None else sorted(map(str, set(keys)))
    )
    if class_names is not None:
        return Labels(_map_to(keys, numbers, list(class_names), locate), task, list(class_names), "")
    if len(names) < 2:
        raise DatasetError(
            f"every label is {names[0]!r}: a classifier needs at least two classes. "
            "Check the label column, or use --task regression for a numeric target."
        )
    y = np.searchsorted(np.unique(keys), keys).astype(np.int64)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    note = f"task: classification ({reason}); {len(names)} classes: {shown}"
    return Labels(y, task, names, note)


def _map_to(keys: np.ndarray, numbers: np.ndarray | None, names: list[str], locate: Locate) -> np.ndarray:
    """Class ids of ``keys`` among a model's ``names``; an unknown label is an error."""
    index = {name: position for position, name in enumerate(names)}
    texts = [class_name(key) for key in keys] if numbers is not None else [str(key) for key in keys]
    y = np.empty(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        if text not in index:
            raise DatasetError(
                f"{locate(row)}: label {text!r} is not one of the model's classes "
                f"({', '.join(names[:12])}{', ...' if len(names) > 12 else ''})."
            )
        y[row] = index[text]
    return y

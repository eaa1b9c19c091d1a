"""Tables of your own: CSV files and NumPy ``.npz`` archives, as features and labels.

    from barenet.datasets import load_csv, load_table

    x, y = load_csv("iris.csv")                   # y: the label column as it is in the file
    table = load_table("iris.csv")                # labels encoded, the decisions kept
    table.y, table.class_names, table.task        # class ids 0..k-1, ['setosa', ...], 'classification'
    print("\\n".join(table.notes))                 # label column, task, classes: what was decided

The CSV layout is described in :mod:`barenet.datasets.csv_files`, the task rule and the
class numbering in :mod:`barenet.datasets.labels`, the checks of ``.npz`` archives in
:mod:`barenet.datasets.npz_files`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from barenet.datasets.csv_files import CsvTable, is_number, read_csv_table
from barenet.datasets.labels import as_numbers, check_missing, encode_labels
from barenet.datasets.npz_files import load_npz, pick_arrays

INT64_LIMIT = 2.0**63  # whole numbers at or beyond this do not fit int64

__all__ = ["Table", "is_number", "load_csv", "load_npz", "load_table", "read_csv_table"]


@dataclass
class Table:
    """Features and encoded labels of a CSV or NPZ file, and what was decided about them.

    ``x`` float32 ``(n, n_features)`` for CSV (NPZ keeps the archive's dtype and sample
    shape); ``y`` int64 class ids ``(n,)`` or float32 targets ``(n, n_targets)``.
    ``x_test``/``y_test`` are set when an archive holds its own test split.
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    class_names: list[str] | None
    feature_names: list[str] | None = None
    label_name: str | None = None
    label_column: int | None = None  # 1-based column of the label in a CSV file
    notes: list[str] = field(default_factory=list)
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    lines: np.ndarray | None = None  # CSV: the 1-based line of each row of x, for messages


def load_csv(
    path: str | Path,
    label_column: int | str | None = None,
    header: bool | None = None,
    delimiter: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a CSV file into features ``x`` float32 ``(n, n_features)`` and the label column ``y``
    as it is in the file: int64 if every label is a whole number int64 holds, float32 for other
    numbers, text otherwise. See :mod:`barenet.datasets.csv_files` for how the layout is read; every
    bad cell raises a ``DatasetError`` naming its line and column."""
    table = read_csv_table(path, label_column, header, delimiter)
    check_missing(table.labels, table.locate)
    numbers = as_numbers(table.labels)
    if numbers is None:
        return table.features, np.char.strip(table.labels.astype(str))
    encode_labels(numbers, table.locate, task="regression")  # every label present, finite, float32-sized
    if np.all(numbers == np.round(numbers)) and np.abs(numbers).max() < INT64_LIMIT:
        return table.features, numbers.astype(np.int64)
    return table.features, numbers.astype(np.float32)


def load_table(
    path: str | Path,
    label_column: int | str | None = None,
    task: str | None = None,
    class_names: Sequence[str] | None = None,
    header: bool | None = None,
    delimiter: str | None = None,
) -> Table:
    """A CSV (or, by its ``.npz`` suffix, NPZ) file with its labels encoded: ``task`` forces
    classification or regression (else the rule of :mod:`barenet.datasets.labels`), and
    ``class_names`` (a trained model's) fixes the classes, e.g. for a separate test file."""
    if Path(path).suffix.lower() == ".npz":
        return _npz_table(path, task, class_names)
    csv_table = read_csv_table(path, label_column, header, delimiter)
    return csv_to_table(csv_table, task, class_names)


def csv_to_table(csv_table: CsvTable, task: str | None, class_names: Sequence[str] | None) -> Table:
    labels = encode_labels(csv_table.labels, csv_table.locate, task, class_names)
    notes = csv_table.notes + ([labels.note] if labels.note else [])
    return Table(
        csv_table.features,
        labels.y,
        labels.task,
        labels.class_names,
        csv_table.feature_names,
        csv_table.label_name,
        csv_table.label_column,
        notes,
        lines=csv_table.line_numbers,
    )


def _npz_table(path: str | Path, task: str | None, class_names: Sequence[str] | None) -> Table:
    source = str(path)
    arrays = load_npz(path)
    x, y, x_test, y_test = pick_arrays(arrays, source)
    n_train = len(y)
    combined = y if y_test is None else np.concatenate([y, y_test])
    key = "y_train" if "y_train" in arrays else "y"

    def locate(row: int) -> str:
        return f"{source}: {key}[{row}]" if row < n_train else f"{source}: y_test[{row - n_train}]"

    labels = encode_labels(combined, locate, task, class_names)
    table = Table(
        x, labels.y[:n_train], labels.task, labels.class_names, notes=[labels.note] if labels.note else []
    )
    if y_test is not None:
        table.x_test, table.y_test = x_test, labels.y[n_train:]
    return table

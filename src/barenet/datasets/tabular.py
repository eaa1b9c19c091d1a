"""Load tabular data: CSV files (including MNIST-as-CSV) and NumPy `.npz` archives."""

import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from barenet.datasets.errors import DatasetError, DatasetNotFoundError
from barenet.datasets.files import read_bytes

NumberedLine = tuple[int, str]


def is_number(cell: str) -> bool:
    """Whether a CSV cell reads as a number."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_lines(path: Path) -> list[NumberedLine]:
    """The non-blank lines of a (possibly gzip-compressed) text file, with 1-based numbers."""
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text ({error}); is it really a CSV file?") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise DatasetError(f"{path}: the file is empty.")
    return lines


def _label_index(label_column: int | str, column_names: list[str] | None, source: str) -> int:
    if isinstance(label_column, str):
        if column_names is None:
            raise DatasetError(
                f"{source}: label_column={label_column!r} names a column, but the file has no "
                "header row; pass the column's position (e.g. label_column=0) instead."
            )
        if label_column not in column_names:
            raise DatasetError(
                f"{source}: no column named {label_column!r}; the header has "
                f"{', '.join(column_names[:10])}{', ...' if len(column_names) > 10 else ''}."
            )
        return column_names.index(label_column)
    return label_column


def _describe_bad_line(
    data_lines: list[NumberedLine], n_columns: int, delimiter: str, label_index: int, source: str
) -> str | None:
    """Find the first ragged row or non-numeric cell and say what is wrong, or None."""
    for line_number, line in data_lines:
        cells = line.split(delimiter)
        if len(cells) != n_columns:
            return (
                f"{source}, line {line_number}: {len(cells)} columns, expected {n_columns} "
                "like the first row."
            )
        for column, cell in enumerate(cells):
            if not is_number(cell):
                problem = (
                    "missing label"
                    if column == label_index and not cell.strip()
                    else f"non-numeric value {cell.strip()!r}"
                )
                return f"{source}, line {line_number}, column {column + 1}: {problem}."
    return None


def load_csv(
    path: str | Path,
    label_column: int | str = 0,
    header: bool | None = None,
    delimiter: str = ",",
) -> tuple[np.ndarray, np.ndarray]:
    """Load a CSV file of numbers into features and labels, e.g. MNIST-as-CSV (785 columns).

    `label_column` is the label's position (0 = first, -1 = last) or, for a file with a header
    row, its name. `header=None` detects a header row: the first line is one if any of its
    cells is not a number. The file may be gzip-compressed; blank lines are skipped.

    Returns `x` float32 `(n_samples, n_features)` and `y` `(n_samples,)`: int64 if every label
    is a whole number (class ids), otherwise float32 (regression targets). Raises
    `DatasetError` naming the line and column of a non-numeric cell, a ragged row or a
    missing label.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such CSV file.")
    lines = _read_lines(path)
    first_cells = lines[0][1].split(delimiter)
    if header is None:
        header = not all(is_number(cell) for cell in first_cells)
    column_names = [cell.strip().strip('"') for cell in first_cells] if header else None
    n_columns = len(first_cells)
    label_index = _label_index(label_column, column_names, str(path))
    if not -n_columns <= label_index < n_columns:
        raise DatasetError(
            f"{path}: label_column={label_column} is out of range for {n_columns} columns."
        )
    label_index %= n_columns
    data_lines = lines[1:] if header else lines
    if not data_lines:
        raise DatasetError(f"{path}: the file has a header row but no data rows.")

    try:
        table = np.loadtxt(
            [line for _, line in data_lines],
            delimiter=delimiter,
            dtype=np.float32,
            comments=None,
            ndmin=2,
        )
    except ValueError as error:
        message = _describe_bad_line(data_lines, n_columns, delimiter, label_index, str(path))
        raise DatasetError(message or f"{path}: {error}") from None
    if table.shape[1] != n_columns:
        raise DatasetError(
            f"{path}: the header has {n_columns} columns but the data rows {table.shape[1]}."
        )

    labels = table[:, label_index]
    unusable = np.flatnonzero(~np.isfinite(labels))
    if len(unusable):
        row = unusable[0]
        raise DatasetError(
            f"{path}, line {data_lines[row][0]}: missing label ({labels[row]}); every row needs "
            "a finite label."
        )
    features = np.delete(table, label_index, axis=1)
    if np.all(labels == np.round(labels)):
        return features, labels.astype(np.int64)
    return features, labels


def load_npz(path: str | Path, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Load the arrays of a NumPy `.npz` archive into a dict (no pickled objects allowed).

    With `keys`, check that those arrays are present and return just them, in that order; for
    a Keras-style `mnist.npz`, `keys=("x_train", "y_train", "x_test", "y_test")`.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such .npz file.")
    unreadable = (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error)
    try:
        loaded = np.load(path, allow_pickle=False)
    except unreadable as error:
        raise DatasetError(f"{path}: not a readable .npz archive ({error}).") from None
    if isinstance(loaded, np.ndarray):
        raise DatasetError(
            f"{path}: holds a single .npy array, not a .npz archive of named arrays."
        )
    try:
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except unreadable as error:
        raise DatasetError(f"{path}: cannot read the .npz archive ({error}).") from None
    if keys is None:
        return arrays
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise DatasetError(
            f"{path}: missing array(s) {', '.join(missing)}; the archive has "
            f"{', '.join(arrays) or 'no arrays'}."
        )
    return {key: arrays[key] for key in keys}

"""Reading a CSV table: delimiter, quoting, header, index column, label column, bad cells.

The layout, as pandas, scikit-learn and spreadsheets write it:

* the delimiter is sniffed from the first lines (``,`` ``;`` tab or ``|``), quotes are
  understood (``"1.5"`` is a number) and a trailing delimiter on every line is ignored;
* decimal commas (``1,5``, as European spreadsheets write numbers beside a ``;`` delimiter) are
  read as decimal points when the delimiter is not ``,`` and such cells outnumber ``1.5``-style
  ones in the first lines; the run says so;
* the first line is a header when one of its cells is not a number in a column whose other
  cells are numbers;
* a first column whose header cell is empty (what ``DataFrame.to_csv`` writes for the index)
  or ``Unnamed: 0`` is the pandas index and is dropped;
* the label column is the one given (a name, or a 0-based position, negative from the end);
  else the one named ``label``, ``target``, ``class`` or ``y`` (any case), and two such
  names are an error; else the last column, except in the MNIST-as-CSV layout (785 columns
  without a header, the first holding whole numbers 0-9), where it is the first;
* every feature cell must be a finite number that fits float32; bad cells are all reported
  with their 1-based line and column, before anything is trained.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from barenet.datasets.errors import DatasetError, DatasetNotFoundError
from barenet.datasets.files import read_bytes

LABEL_NAMES = ("label", "target", "class", "y")
DELIMITERS = (",", ";", "\t", "|")
INDEX_NAMES = ("", "unnamed: 0")
FLOAT32_MAX = float(np.finfo(np.float32).max)
SHOWN_PROBLEMS = 5  # bad cells listed in one message
MNIST_COLUMNS = 785
DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")  # 1,5  -0,25  ,5  1,5e-3
DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")


@dataclass
class CsvTable:
    """A CSV file read into features and (unencoded) label cells.

    ``features`` is float32 ``(n_rows, n_features)``; ``labels`` the label cells as text
    ``(n_rows,)``; ``line_numbers`` the 1-based line of each row.
    """

    source: str
    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str] | None
    label_name: str
    label_column: int  # 1-based column in the file
    line_numbers: np.ndarray
    notes: list[str] = field(default_factory=list)

    def locate(self, row: int) -> str:
        """Where the label of row ``row`` is, for messages."""
        return f"{self.source}, line {self.line_numbers[row]}, column {self.label_column}"


def is_number(cell: str) -> bool:
    """Whether a CSV cell reads as a number."""
    try:
        float(cell)
    except (ValueError, OverflowError):
        return False
    return True


def read_rows(path: str | Path, delimiter: str | None = None) -> tuple[str, list[tuple[int, list[str]]], str]:
    """The non-blank rows of a (possibly gzip-compressed) CSV file as (line number, cells)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such CSV file.")
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text ({error}); is it really a CSV file?") from None
    if "\0" in text:
        raise DatasetError(f"{path}: holds NUL bytes; it is a binary file, not a CSV file.")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise DatasetError(f"{path}: the file is empty.")
    delimiter = delimiter or sniff_delimiter([line for _, line in lines[:50]])
    try:
        rows = [(number, split_line(line, delimiter)) for number, line in lines]
    except (csv.Error, ValueError) as error:
        raise DatasetError(f"{path}: cannot split the lines at {delimiter!r}: {error}") from None
    return str(path), drop_trailing_empty_column(rows), delimiter


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the most sample lines into the same number (> 1) of cells."""
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(cells) for cells in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        common = max(set(counts), key=counts.count)
        score = (counts.count(common), common) if common > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def decimal_commas(rows: list[tuple[int, list[str]]], delimiter: str) -> bool:
    """Whether the numbers of the first lines are written with decimal commas (see above)."""
    if delimiter == ",":
        return False
    cells = [cell for _, row in rows[:50] for cell in row]
    return sum(map(bool, map(DECIMAL_COMMA.match, cells))) > sum(map(bool, map(DECIMAL_POINT.match, cells)))


def split_line(line: str, delimiter: str) -> list[str]:
    """The cells of one line (quotes removed, spaces around cells stripped)."""
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter), [])]


def drop_trailing_empty_column(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """``1,2,3,`` on every data line: the last, empty cell is not a column (nor is an empty
    last header cell above it)."""
    header, data = rows[0][1], rows[1:] or rows
    if not all(len(cells) > 1 and cells[-1] == "" for _, cells in data):
        return rows
    width = len(data[0][1])
    if len(rows) > 1 and len(header) == width and header[-1] != "":
        return rows  # a named column that is empty: reported as empty cells
    return [(number, cells[:-1] if cells and cells[-1] == "" else cells) for number, cells in rows]


def has_header(rows: list[tuple[int, list[str]]]) -> bool:
    """The first row is a header if a cell of it is not a number in a column of numbers."""
    first = rows[0][1]
    if len(rows) == 1:
        return not all(is_number(cell) for cell in first)
    sample = [cells for _, cells in rows[1:50]]
    for column, cell in enumerate(first):
        if is_number(cell):
            continue
        below = [cells[column] for cells in sample if column < len(cells)]
        if below and all(is_number(value) for value in below):
            return True
    return False


def find_label_column(
    label_column: int | str | None, names: list[str] | None, rows: list[tuple[int, list[str]]], source: str
) -> tuple[int, str]:
    """The label's position among the columns, and how it was chosen."""
    n_columns = len(rows[0][1]) if names is None else len(names)
    if isinstance(label_column, str):
        if names is None:
            raise DatasetError(
                f"{source}: label_column={label_column!r} names a column, but the file has no "
                "header row; pass the column's position (e.g. label_column=0) instead."
            )
        if label_column in names:
            return names.index(label_column), "given by name"
        folded = [name.casefold() for name in names]
        if folded.count(label_column.casefold()) == 1:
            return folded.index(label_column.casefold()), "given by name"
        raise DatasetError(
            f"{source}: no column named {label_column!r}; the header has "
            f"{', '.join(names[:10])}{', ...' if len(names) > 10 else ''}."
        )
    if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
        if not -n_columns <= label_column < n_columns:
            raise DatasetError(
                f"{source}: label_column={label_column} is out of range for {n_columns} columns."
            )
        return int(label_column) % n_columns, "given by position"
    if label_column is not None:
        raise TypeError(f"label_column must be a column name, a position or None; got {label_column!r}")
    if names is not None:
        matches = [index for index, name in enumerate(names) if name.casefold() in LABEL_NAMES]
        if len(matches) > 1:
            raise DatasetError(
                f"{source}: {len(matches)} columns could be the label "
                f"({', '.join(repr(names[index]) for index in matches)}); "
                "say which with --label-column NAME (label_column=...)."
            )
        if matches:
            return matches[0], f"named {names[matches[0]]!r}"
        return n_columns - 1, f"the last column (no column is named {', '.join(LABEL_NAMES)})"
    if n_columns == MNIST_COLUMNS and all(cells[0] in tuple("0123456789") for _, cells in rows[:200]):
        return 0, "the first column (the MNIST-as-CSV layout: 785 columns, digits 0-9 first)"
    return n_columns - 1, "the last column (the file has no header)"


@dataclass
class Layout:
    """A CSV file split into header names (or None), data rows and the usable columns."""

    source: str
    names: list[str] | None
    data: list[tuple[int, list[str]]]
    columns: list[int]  # 0-based file columns, the pandas index left out
    notes: list[str]


def read_layout(path: str | Path, header: bool | None = None, delimiter: str | None = None) -> Layout:
    """Read the rows, find the header and the pandas index, and check every row's width."""
    source, rows, delimiter = read_rows(path, delimiter)
    commas = decimal_commas(rows, delimiter)
    if commas:
        rows = [(number, [cell.replace(",", ".") if DECIMAL_COMMA.match(cell) else cell for cell in cells])
                for number, cells in rows]
    header = has_header(rows) if header is None else header
    names = rows[0][1] if header else None
    data = rows[1:] if header else rows
    if not data:
        raise DatasetError(f"{source}: the file has a header row but no data rows.")
    notes = [] if delimiter == "," else [f"delimiter: {delimiter!r}"]
    if commas:
        notes.append("decimal commas: cells such as 1,5 are read as 1.5")
    n_columns = len(rows[0][1])
    for number, cells in data:
        if len(cells) != n_columns:
            raise DatasetError(
                f"{source}, line {number}: {len(cells)} columns, expected {n_columns} like the first row."
            )
    columns = list(range(n_columns))
    if names is not None and n_columns > 1 and names[0].casefold() in INDEX_NAMES:
        columns = columns[1:]
        notes.append("the first column is a pandas index (its header cell is empty): not a feature")
    return Layout(source, names, data, columns, notes)


def read_csv_table(
    path: str | Path,
    label_column: int | str | None = None,
    header: bool | None = None,
    delimiter: str | None = None,
) -> CsvTable:
    """Read a CSV file of features and a label column, laid out as the module docstring says."""
    layout = read_layout(path, header, delimiter)
    names, data, columns, source = layout.names, layout.data, layout.columns, layout.source
    view_names = [names[index] for index in columns] if names is not None else None
    view_rows = [(number, [cells[index] for index in columns]) for number, cells in data[:200]]
    position, how = find_label_column(label_column, view_names, view_rows, source)
    label_index = columns[position]
    columns = [index for index in columns if index != label_index]
    if not columns:
        raise DatasetError(f"{source}: no feature columns are left beside the label column.")
    line_numbers = np.array([number for number, _ in data], dtype=np.int64)
    features = parse_features([cells for _, cells in data], columns, line_numbers, source)
    label_name = names[label_index] if names is not None else f"column {label_index + 1}"
    notes = [f"label column: {label_name!r} (column {label_index + 1}), {how}", *layout.notes]
    return CsvTable(
        source,
        features,
        np.array([cells[label_index] for _, cells in data]),
        [names[index] for index in columns] if names is not None else None,
        label_name,
        label_index + 1,
        line_numbers,
        notes,
    )


def read_feature_rows(
    path: str | Path,
    n_features: int,
    feature_names: list[str] | None = None,
    label_column: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of features for a model that takes ``n_features``, and their line numbers.

    With a header holding the model's ``feature_names``, those columns are used, by name (a
    label column and any others are ignored). Otherwise the row must have ``n_features``
    cells, or one more: then the label column is dropped, found by its name in a header or,
    without one, at the position the training file had it (``label_column``, 1-based).
    """
    layout = read_layout(path)
    names, columns, source = layout.names, layout.columns, layout.source
    what = f"the model takes {n_features} features" + (
        f" ({', '.join(feature_names[:8])}{', ...' if len(feature_names) > 8 else ''})"
        if feature_names
        else ""
    )
    if names is not None and feature_names and set(feature_names) <= set(names):
        columns = [names.index(name) for name in feature_names]
    elif names is not None and feature_names and len(columns) in (n_features, n_features + 1):
        unknown = [names[index] for index in columns if names[index] not in feature_names]
        raise DatasetError(f"{source}: the header names {', '.join(unknown[:5])}, which {what} does not use.")
    elif len(columns) == n_features + 1:
        if names is not None:
            view_names = [names[index] for index in columns]
            position, _ = find_label_column(None, view_names, [], source)
            columns = columns[:position] + columns[position + 1 :]
        elif label_column is not None and 1 <= label_column <= len(columns):
            columns = [index for index in columns if index != label_column - 1]
        else:
            raise DatasetError(
                f"{source}: rows of {len(columns)} cells, {what}; which cell is the label? "
                "Give rows of features only."
            )
    elif len(columns) != n_features:
        raise DatasetError(
            f"{source}: rows of {len(columns)} cells, but {what} (a label column may be added)."
        )
    line_numbers = np.array([number for number, _ in layout.data], dtype=np.int64)
    cells = [row for _, row in layout.data]
    return parse_features(cells, columns, line_numbers, source), line_numbers


def parse_features(
    cells: list[list[str]], columns: list[int], line_numbers: np.ndarray, source: str
) -> np.ndarray:
    """The feature cells as float32, or a DatasetError listing every bad cell's line and column."""
    picked = [[row[index] for index in columns] for row in cells]
    try:
        values = np.array(picked, dtype=np.float64).reshape(len(picked), len(columns))
    except (ValueError, OverflowError):
        values = None
    if values is not None and np.all(np.abs(values) <= FLOAT32_MAX):
        return values.astype(np.float32)
    problems = []
    for row, row_cells in enumerate(picked):
        for position, cell in enumerate(row_cells):
            problem = cell_problem(cell)
            if problem:
                problems.append(f"line {line_numbers[row]}, column {columns[position] + 1}: {problem}")
    shown = "; ".join(problems[:SHOWN_PROBLEMS])
    more = f" ({len(problems)} bad cells in all)" if len(problems) > SHOWN_PROBLEMS else ""
    raise DatasetError(
        f"{source}, {shown}{more}. Every feature must be a finite number; fix or remove those rows."
    )


def cell_problem(cell: str) -> str | None:
    """What is wrong with a feature cell, or None."""
    if cell == "":
        return "empty cell"
    try:
        value = float(cell)
    except (ValueError, OverflowError):
        return f"non-numeric value {cell!r}"
    if np.isnan(value):
        return f"missing value {cell!r} (NaN)"
    if not abs(value) <= FLOAT32_MAX:
        return f"value {cell!r} is infinite or too large for float32 (> 3.4e38)"
    return None

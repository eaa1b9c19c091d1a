"""Data sets by the names the command line uses: ``mnist``, ``fashion-mnist``, ``sine``,
``spirals``, ``csv:PATH`` and ``npz:PATH``, each as training and test arrays, and the texts
``tinyshakespeare`` and ``text:PATH`` (as character ids: :mod:`barenet.runs.text_data`).

Images are flattened to rows of raw pixel values (0-255): the model carries its own
preprocessing. A CSV or NPZ file is read as :mod:`barenet.datasets.tabular` says (label
column, task, classes); unless a separate test file is given (``--test-data``) or an archive
holds ``x_test``/``y_test``, 20 % of its rows are held out as the test set, always the same
rows (the split does not depend on ``--seed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets import (
    DatasetError,
    Table,
    load_fashion_mnist,
    load_mnist,
    load_table,
    make_sine,
    make_spirals,
    train_validation_split,
)
from ..datasets.csv_files import read_feature_rows as read_csv_feature_rows
from ..datasets.mnist import FASHION_MNIST, MNIST, find_files
from ..datasets.text import CharVocabulary, load_text, load_tinyshakespeare
from .config import check_dataset

IMAGE_SHAPE = (28, 28)
TEST_FRACTION = 0.2
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass
class Data:
    """Training and test arrays, and what the rest of the program needs to know about them."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" or "regression"
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    label_name: str | None = None  # the label column of a CSV file
    label_column: int | None = None  # its 1-based position
    notes: list[str] = field(default_factory=list)  # what was decided, printed before training
    vocabulary: CharVocabulary | None = None  # of a text: its ids are the classes
    lines: np.ndarray | None = None  # CSV: the file's line of each training row, for messages

    def row_place(self, row: int) -> str:
        """Where training row ``row`` (0-based) is: ``train.csv, line 6``, or ``training row 4``."""
        if self.lines is None:
            return f"training row {row + 1}"
        return f"{self.name.split(':', 1)[-1]}, line {self.lines[row]}"

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """Output width a model needs: the number of classes, or of regression targets."""
        if self.vocabulary is not None:
            return self.vocabulary.size
        if self.task == "regression":
            return self.y_train.shape[1]
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """(28, 28) when each row is a 28x28 image, else None."""
        if self.vocabulary is not None:
            return None
        return IMAGE_SHAPE if self.n_features == IMAGE_SHAPE[0] * IMAGE_SHAPE[1] else None

    def metadata(self) -> dict:
        """What a model trained on this data keeps in its file (JSON)."""
        facts = {
            "class_names": self.class_names,
            "feature_names": self.feature_names,
            "label_name": self.label_name,
            "label_column": self.label_column,
            "vocabulary": self.vocabulary.to_dict() if self.vocabulary is not None else None,
        }
        return {key: value for key, value in facts.items() if value is not None}


def load_data(
    dataset: str,
    data_dir: str | None = None,
    label_column: int | str | None = None,
    task: str | None = None,
    test_data: str | None = None,
) -> Data:
    """Load a data set by name (see the module docstring); ``label_column``, ``task`` and
    ``test_data`` apply to CSV and NPZ files."""
    kind = check_dataset(dataset)
    if kind in ("tinyshakespeare", "text"):
        check_no_table_options(dataset, label_column, task, test_data)
        text = load_tinyshakespeare(data_dir) if kind == "tinyshakespeare" else load_text(
            Path(dataset.split(":", 1)[1]).expanduser())
        ids, none = text.ids, text.ids[:0]
        note = f"text: {len(ids):,} characters, {text.vocabulary.size} distinct, from {text.source}"
        return Data(dataset, ids, none, none, none, "classification", notes=[note],
                    vocabulary=text.vocabulary)
    if kind in ("csv", "npz"):
        path = Path(dataset.split(":", 1)[1]).expanduser()
        return from_table(dataset, load_table(path, label_column, task), test_data)
    check_no_table_options(dataset, label_column, task, test_data)
    if kind in ("mnist", "fashion-mnist"):
        loader = load_mnist if kind == "mnist" else load_fashion_mnist
        (x_train, y_train), (x_test, y_test) = loader(data_dir)
        names = FASHION_CLASSES if kind == "fashion-mnist" else [str(digit) for digit in range(10)]
        found = find_files(MNIST if kind == "mnist" else FASHION_MNIST, data_dir)
        where = [f"data read from {(found[0] if isinstance(found, list) else found).parent}"]
        return Data(dataset, _rows(x_train), y_train, _rows(x_test), y_test, "classification", names,
                    notes=where)
    if kind == "sine":
        x_train, y_train = make_sine(1000, rng=0)
        x_test, y_test = make_sine(1000, rng=1)
        return Data(dataset, x_train, y_train, x_test, y_test, "regression")
    x_train, y_train = make_spirals(600, rng=0)
    x_test, y_test = make_spirals(300, rng=1)
    return Data(dataset, x_train, y_train, x_test, y_test, "classification", ["0", "1", "2"])


def check_no_table_options(dataset: str, label_column: object, task: object, test_data: object) -> None:
    if test_data is not None or label_column is not None or task is not None:
        raise DatasetError(
            f"--label-column, --task and --test-data apply to csv: and npz: data, not {dataset}"
        )


def _rows(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


def from_table(name: str, table: Table, test_data: str | None) -> Data:
    """Training and test data from a table: the test split from ``test_data``, from the
    archive's own, or 20 % of the rows held out."""
    notes = list(table.notes)
    x, y, lines = _rows(table.x), table.y, table.lines
    if test_data is not None:
        test = load_test_table(test_data, table)
        x_test, y_test = _rows(test.x), test.y
        notes.append(f"test data: every row of {test_data} ({len(x_test)} rows); no hold-out")
    elif table.x_test is not None:
        x_test, y_test = _rows(table.x_test), table.y_test
        notes.append(f"test data: the archive's x_test and y_test ({len(x_test)} rows)")
    else:
        classification = table.task == "classification"
        (rows, y), (test_rows, y_test) = train_validation_split(
            np.arange(len(x)), y, TEST_FRACTION, stratify=classification, rng=0
        )
        x, x_test, lines = x[rows], x[test_rows], None if lines is None else lines[rows]
        if len(x_test) == 0 or len(x) == 0:
            needed = (
                f"a class of at least {rows_needed(TEST_FRACTION)} rows (each class gives "
                f"{TEST_FRACTION:.0%} of its rows, rounded)"
                if classification
                else f"at least {rows_needed(TEST_FRACTION)} rows"
            )
            raise DatasetError(
                f"{name} has {len(table.x)} rows; holding out {TEST_FRACTION:.0%} of them as the test set "
                f"needs {needed}. Add rows, or give a separate test file with --test-data PATH."
            )
        notes.append(f"test data: {len(x_test)} of the {len(table.x)} rows held out ({TEST_FRACTION:.0%})")
    return Data(
        name,
        x,
        y,
        x_test,
        y_test,
        table.task,
        table.class_names,
        table.feature_names,
        table.label_name,
        table.label_column,
        notes,
        lines=lines,
    )


def rows_needed(fraction: float, smallest_rest: int = 1) -> int:
    """The fewest rows for which holding out ``fraction`` leaves at least one row held out
    and ``smallest_rest`` rows beside it (Python rounds halves to even, as the split does)."""
    n = 1
    while round(fraction * n) < 1 or n - round(fraction * n) < smallest_rest:
        n += 1
    return n


def load_test_table(path: str | Path, train: Table) -> Table:
    """A separate test file read like the training file: the same label column, task,
    classes and features."""
    label = (
        train.label_name
        if train.feature_names is not None
        else (train.label_column - 1 if train.label_column is not None else None)
    )
    test = load_table(Path(path).expanduser(), label, train.task, train.class_names)
    if train.feature_names is not None and test.feature_names is not None:
        if test.feature_names != train.feature_names:
            raise DatasetError(
                f"{path}: the feature columns are {', '.join(test.feature_names[:8])}; the training file "
                f"has {', '.join(train.feature_names[:8])}. Use the same columns in the same order."
            )
    if test.x.shape[1:] != train.x.shape[1:]:
        raise DatasetError(
            f"{path}: samples of shape {test.x.shape[1:]}, but the training data has {train.x.shape[1:]}."
        )
    return test


def test_file_for_model(
    path: str | Path, metadata: dict, task: str, n_features: int, n_outputs: int
) -> Data:
    """Every row of a CSV file (or an archive's x_test, else all of it) as test data for a
    trained model (``evaluate --dataset csv:PATH``), its labels read with the model's label
    column and classes; a model that does not record its classes has classes 0..k-1."""
    label_name, label_column = metadata.get("label_name"), metadata.get("label_column")
    label = label_name if metadata.get("feature_names") else (label_column - 1 if label_column else None)
    class_names = None
    if task == "classification":
        class_names = metadata.get("class_names") or [str(index) for index in range(max(n_outputs, 2))]
    table = load_table(Path(path).expanduser(), label, task, class_names)
    x, y = (_rows(table.x), table.y) if table.x_test is None else (_rows(table.x_test), table.y_test)
    if x.shape[1] != n_features:
        raise DatasetError(f"{path}: {x.shape[1]} features per row, but the model takes {n_features}.")
    notes = [*table.notes, f"test data: every row of {path} ({len(x)} rows)"]
    return Data(
        str(path),
        x[:0],
        y[:0],
        x,
        y,
        task,
        class_names,
        table.feature_names,
        table.label_name,
        table.label_column,
        notes,
    )


def read_feature_rows(
    path: str | Path, n_features: int, metadata: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of a CSV file for a model, by the model's stored feature names and label
    column (see :func:`barenet.datasets.csv_files.read_feature_rows`), and their line numbers."""
    metadata = metadata or {}
    return read_csv_feature_rows(
        path, n_features, metadata.get("feature_names"), metadata.get("label_column")
    )

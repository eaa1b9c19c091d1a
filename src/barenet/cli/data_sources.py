"""Data sets by the names the command line uses: ``mnist``, ``fashion-mnist``, ``sine``,
``spirals``, ``csv:PATH`` and ``npz:PATH``, each as training and test arrays.

Images are flattened to rows of raw pixel values (0-255): the model carries its own
preprocessing. A CSV or NPZ file without a test split has 20 % of its rows held out as the
test set, always the same rows (the split does not depend on ``--seed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import (
    DatasetError,
    load_csv,
    load_fashion_mnist,
    load_mnist,
    load_npz,
    make_sine,
    make_spirals,
    train_validation_split,
)
from ..datasets.files import read_bytes
from ..datasets.tabular import is_number
from .config import check_dataset

IMAGE_SHAPE = (28, 28)
TEST_FRACTION = 0.2
FASHION_CLASSES = [
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Boot",
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

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """Output width a model needs: the number of classes, or of regression targets."""
        if self.task == "regression":
            return self.y_train.shape[1]
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """(28, 28) when each row is a 28x28 image, else None."""
        return IMAGE_SHAPE if self.n_features == IMAGE_SHAPE[0] * IMAGE_SHAPE[1] else None


def load_data(dataset: str, data_dir: str | None = None) -> Data:
    """Load a data set by name (see the module docstring)."""
    kind = check_dataset(dataset)
    if kind in ("mnist", "fashion-mnist"):
        loader = load_mnist if kind == "mnist" else load_fashion_mnist
        (x_train, y_train), (x_test, y_test) = loader(data_dir)
        names = FASHION_CLASSES if kind == "fashion-mnist" else [str(digit) for digit in range(10)]
        return Data(dataset, _rows(x_train), y_train, _rows(x_test), y_test, "classification", names)
    if kind == "sine":
        x_train, y_train = make_sine(1000, rng=0)
        x_test, y_test = make_sine(1000, rng=1)
        return Data(dataset, x_train, y_train, x_test, y_test, "regression")
    if kind == "spirals":
        x_train, y_train = make_spirals(600, rng=0)
        x_test, y_test = make_spirals(300, rng=1)
        return Data(dataset, x_train, y_train, x_test, y_test, "classification", ["0", "1", "2"])
    path = Path(dataset.split(":", 1)[1]).expanduser()
    if kind == "csv":
        return _from_arrays(dataset, *load_csv(path))
    return _from_npz(dataset, path)


def _rows(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


def _from_npz(name: str, path: Path) -> Data:
    arrays = load_npz(path)
    for x_key, y_key in (("x_train", "y_train"), ("x", "y")):
        if x_key in arrays and y_key in arrays:
            test = (arrays["x_test"], arrays["y_test"]) if {"x_test", "y_test"} <= set(arrays) else None
            return _from_arrays(name, arrays[x_key], arrays[y_key], test)
    raise DatasetError(
        f"{path} holds the arrays {', '.join(arrays) or 'none'}; barenet needs x_train and y_train "
        "(and optionally x_test and y_test), or x and y"
    )


def _from_arrays(name: str, x: np.ndarray, y: np.ndarray, test: tuple | None = None) -> Data:
    """Data from features and labels: integer labels are classes, anything else regression."""
    classification = np.asarray(y).dtype.kind in "iub"
    if test is None:
        (x, y), test = train_validation_split(x, y, TEST_FRACTION, stratify=classification, rng=0)
    x, x_test = _rows(np.asarray(x)), _rows(np.asarray(test[0]))
    y, y_test = np.asarray(y), np.asarray(test[1])
    if not classification:
        y, y_test = _rows(y).astype(np.float32), _rows(y_test).astype(np.float32)
        return Data(name, x, y, x_test, y_test, "regression")
    if min(y.min(), y_test.min()) < 0:
        raise DatasetError(f"{name}: class labels must be 0, 1, 2, ...; found {min(y.min(), y_test.min())}")
    n_classes = int(max(y.max(), y_test.max())) + 1
    return Data(
        name,
        x,
        y.astype(np.int64),
        x_test,
        y_test.astype(np.int64),
        "classification",
        [str(label) for label in range(n_classes)],
    )


def read_feature_rows(path: str | Path, n_features: int) -> np.ndarray:
    """Rows of ``n_features`` numbers from a CSV file (a header line is skipped). With one
    column more, the first is taken as a label and dropped, as in MNIST-as-CSV files."""
    lines = [line for line in read_bytes(path).decode("utf-8-sig").splitlines() if line.strip()]
    header = lines[:1] and any(not is_number(cell) for cell in lines[0].split(","))
    try:
        table = np.loadtxt(lines[1:] if header else lines, delimiter=",", dtype=np.float32, ndmin=2)
    except ValueError as error:
        raise DatasetError(f"{path} is not a CSV file of numbers: {error}") from None
    if table.shape[1] == n_features + 1:
        table = table[:, 1:]
    if table.shape[1] != n_features or not len(table):
        raise DatasetError(
            f"{path} has {table.shape[1]} columns per row; the model takes {n_features} features "
            f"(or {n_features + 1} columns with the label first)"
        )
    return table

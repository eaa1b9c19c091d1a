"""What ``barenet serve`` serves: one loaded model and, for a run folder, what the run left.

A run folder (``barenet train`` writes one) holds ``model.npz``, ``config.toml`` and
``history.csv``. From it the page shows the learning curves, and the confusion matrix on the
run's test data, each cell with the test images that fell into it. The test predictions are
computed once, when the server starts; when the data cannot be found the page says so and
leaves that part out.

A text model (its first layer an Embedding, its vocabulary in its metadata) gets the text page
instead: a prompt, generation, attention; its run folder adds only its learning curves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.text import CharVocabulary
from ..errors import BarenetError, RunFolderError
from ..layers import Embedding, Softmax
from ..metrics import confusion_matrix
from ..model import Sequential, load
from ..model.generation import model_vocabulary
from ..runs.config import read_toml
from ..runs.data_sources import FASHION_CLASSES, load_data
from ..runs.model_data import checked_metadata
from ..training.callbacks import read_history_csv

IMAGE_SIDE = 28
IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE
MODEL_FILE, CONFIG_FILE, HISTORY_FILE = "model.npz", "config.toml", "history.csv"
IMAGES_PER_CELL = 60  # test images kept per confusion-matrix cell, most confident first


@dataclass
class ConfusionCells:
    """The confusion matrix of the test set, and for each cell its most confident images."""

    matrix: np.ndarray  # (n_classes, n_classes), rows true class, columns predicted class
    images: np.ndarray  # uint8 (n_test, 784), the test images
    probabilities: np.ndarray  # (n_test,), probability of the predicted class
    cells: dict[tuple[int, int], np.ndarray]  # (true, predicted) -> image indices, best first
    dataset: str

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.matrix) / max(self.matrix.sum(), 1))


@dataclass
class RunReport:
    """What a run folder adds to the page; ``notes`` says what is missing and why."""

    folder: Path
    history: dict[str, list[float]] | None = None
    confusion: ConfusionCells | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ServedModel:
    """The model, its class names, and the run it came from (None for a bare model file)."""

    model: Sequential
    source: str  # the model's name as the page shows it: run/model.npz or model.npz
    class_names: list[str]
    run: RunReport | None = None
    ink_statistics: dict | None = None  # the training images' ink ranges (runs.images.unusual_ink)
    vocabulary: CharVocabulary | None = None  # a text model's characters; None for an image model

    def as_model_input(self, rows: np.ndarray) -> np.ndarray:
        """Rows of 784 pixels reshaped to the model's per-sample input shape, in its dtype."""
        return rows.reshape(len(rows), *self.model.input_shape).astype(self.model.dtype, copy=False)


def load_served(path: str | Path, data_dir: str | None = None) -> ServedModel:
    """The model file, or the run folder, at ``path``, checked to be a 28x28 image classifier
    or a text model (an Embedding first, its vocabulary in its metadata)."""
    path = Path(path)
    if path.is_dir():
        model_path = path / MODEL_FILE
        if not model_path.is_file():
            raise RunFolderError(
                f"{path} is a folder without {MODEL_FILE}; give a model file or a run folder "
                "written by barenet train"
            )
    elif path.is_file():
        model_path = path
    else:
        raise RunFolderError(f"no model file or run folder at {path}")
    model = load(model_path)
    shown_name = f"{path.name}/{MODEL_FILE}" if path.is_dir() else path.name  # no server paths on the page
    if isinstance(model.layers[0], Embedding):
        vocabulary = model_vocabulary(model, str(model_path))
        served = ServedModel(model, shown_name, list(vocabulary.characters), vocabulary=vocabulary)
        if path.is_dir():
            served.run = RunReport(path)
            read_history(served.run)
        return served
    check_servable(model, str(model_path))
    settings = read_toml(path / CONFIG_FILE) if path.is_dir() and (path / CONFIG_FILE).is_file() else {}
    names = class_names(settings.get("dataset"), model_classes(model))
    statistics = checked_metadata(model, str(model_path)).get("ink_statistics")
    served = ServedModel(model, shown_name, names, ink_statistics=statistics)
    if path.is_dir():
        served.run = read_run(path, served, settings, data_dir)
    return served


def check_servable(model: Sequential, source: str) -> None:
    """The page draws 28x28 digits and shows class probabilities: refuse other models."""
    if model.in_features != IMAGE_SIZE:
        raise BarenetError(
            f"{source} takes inputs of shape {model.input_shape}; barenet serve needs a model of "
            f"28x28 images ({IMAGE_SIZE} inputs, e.g. trained on mnist or fashion-mnist)"
        )
    if model.task != "classification" or model.output_activation is None:
        raise BarenetError(
            f"{source} is a {model.task} model ending in {type(model.layers[-1]).__name__}; barenet serve "
            "needs a classifier ending in Softmax (or Sigmoid for two classes)"
        )


def model_classes(model: Sequential) -> int:
    """How many classes the model tells apart (a single sigmoid output is two)."""
    return 2 if model.out_features == 1 and not isinstance(model.layers[-1], Softmax) else model.out_features


def class_names(dataset: object, n_classes: int) -> list[str]:
    if dataset == "fashion-mnist" and n_classes == len(FASHION_CLASSES):
        return list(FASHION_CLASSES)
    return [str(label) for label in range(n_classes)]


def read_run(folder: Path, served: ServedModel, settings: dict, data_dir: str | None) -> RunReport:
    report = RunReport(folder)
    read_history(report)
    dataset = settings.get("dataset")
    if not isinstance(dataset, str):
        report.notes.append(f"confusion matrix left out: no dataset named in {CONFIG_FILE}")
        return report
    try:
        data = load_data(dataset, data_dir or settings.get("data_dir"))
    except (BarenetError, OSError) as error:
        reason = str(error) if len(str(error)) < 160 else str(error)[:160] + "…"
        report.notes.append(
            f"confusion matrix left out: the {dataset} test data was not found ({reason}); "
            "give barenet serve --data-dir DIR"
        )
        return report
    if data.task != "classification" or data.n_features != IMAGE_SIZE:
        report.notes.append(f"confusion matrix left out: {dataset} is not a set of 28x28 images in classes")
        return report
    report.confusion = confusion_cells(served, data.x_test, data.y_test, dataset)
    return report


def read_history(report: RunReport) -> None:
    """The run's learning curves into ``report`` (or a note saying why they are left out)."""
    if not (report.folder / HISTORY_FILE).is_file():
        report.notes.append(f"learning curves left out: the run folder has no {HISTORY_FILE}")
        return
    try:
        report.history = read_history_csv(report.folder / HISTORY_FILE)
    except (BarenetError, OSError, ValueError, KeyError) as error:
        report.notes.append(f"learning curves left out: {HISTORY_FILE} cannot be read ({error})")


def confusion_cells(
    served: ServedModel, x_test: np.ndarray, y_test: np.ndarray, dataset: str
) -> ConfusionCells:
    """Predict the test set once and sort its images into the cells of the confusion matrix."""
    probabilities = served.model.predict_proba(served.as_model_input(np.asarray(x_test, dtype=np.float32)))
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    n_classes = len(served.class_names)
    y_test = np.asarray(y_test, dtype=np.int64)
    matrix = confusion_matrix(y_test, predicted, n_classes)
    order = np.argsort(-confidence, kind="stable")
    cells: dict[tuple[int, int], np.ndarray] = {}
    for true_class in range(n_classes):
        for predicted_class in range(n_classes):
            members = order[(y_test[order] == true_class) & (predicted[order] == predicted_class)]
            cells[true_class, predicted_class] = members[:IMAGES_PER_CELL]
    images = np.clip(np.round(np.asarray(x_test, dtype=np.float32)), 0, 255).astype(np.uint8)
    return ConfusionCells(matrix, images.reshape(len(images), -1), confidence, cells, dataset)

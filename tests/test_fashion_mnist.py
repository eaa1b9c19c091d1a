"""Fashion-MNIST from the command line: a short run on the real data learns, keeps Zalando's
class names in the model file and draws its confusion matrix with them."""

from __future__ import annotations

import pytest
from helpers import DATA_DIR, assert_png, barenet, cli_environment, printed_test_line

import barenet as library
from barenet.runs.data_sources import FASHION_CLASSES

FASHION_FOLDER = DATA_DIR / "fashion-mnist"
pytestmark = pytest.mark.skipif(
    not (FASHION_FOLDER / "train-images-idx3-ubyte.gz").is_file()
    and not (FASHION_FOLDER / "train-images-idx3-ubyte").is_file(),
    reason=f"Fashion-MNIST is not in {FASHION_FOLDER}",
)
ZALANDO_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def test_a_short_fashion_mnist_run_learns_and_names_its_classes(tmp_path):
    environment = cli_environment(tmp_path) | {"BARENET_DATA_DIR": str(DATA_DIR)}
    trained = barenet("train", "--dataset", "fashion-mnist", "--train-limit", 3000, "--epochs", 2,
                      "--out", "run", "--quiet", cwd=tmp_path, env=environment)
    assert trained.returncode == 0, trained.stderr
    line = printed_test_line(trained.stdout)
    assert float(line.split("accuracy")[1]) >= 0.6, line  # ten classes: a guess gets 0.1; measured 0.70
    evaluated = barenet("evaluate", "run", cwd=tmp_path, env=environment)
    assert evaluated.returncode == 0, evaluated.stderr
    assert printed_test_line(evaluated.stdout) == line
    model = library.load(tmp_path / "run" / "model.npz")
    assert model.metadata["dataset"] == "fashion-mnist"
    assert model.metadata["class_names"] == FASHION_CLASSES == ZALANDO_CLASSES
    assert_png(tmp_path / "run" / "confusion_matrix.png")

"""One recipe for every run: the same configuration trained by ``barenet train`` and as a
one-trial ``barenet sweep`` gives the same model, bit for bit (both go through
:func:`barenet.runs.recipe.prepare_run`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from barenet.runs.recipe import prepare_run
from helpers import DATA_DIR, assert_same_arrays, barenet, cli_environment, mnist_present

from barenet.runs.config import build_config

pytest.importorskip("optuna", reason="barenet sweep needs Optuna: pip install barenet[sweep]")


def toml_value(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def train_and_sweep(tmp_path: Path, settings: dict[str, object], lr: float) -> tuple[Path, Path]:
    """The model files of ``barenet train`` and of a one-trial sweep, both from ``settings``
    with ``lr`` and seed 0 (one BLAS thread each, as a sweep worker has)."""
    env = cli_environment(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text("".join(f"{key} = {toml_value(value)}\n" for key, value in settings.items()))
    trained = barenet("train", "--config", config, "--lr", lr, "--seed", 0, "--out", tmp_path / "train",
                      cwd=tmp_path, env=env, timeout=600)
    assert trained.returncode == 0, trained.stderr
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "one"\nseeds = [0]\n[grid]\nlr = [' + repr(lr) + "]\n[base]\n"
                    + config.read_text())
    swept = barenet("sweep", spec, "--workers", 1, "--out", tmp_path / "sweep", cwd=tmp_path, env=env,
                    timeout=600)
    assert swept.returncode == 0, swept.stderr
    assert ",complete," in (tmp_path / "sweep" / "results.csv").read_text()
    return tmp_path / "train" / "model.npz", tmp_path / "sweep" / "trials" / "trial-0000" / "model.npz"


def write_iris(folder: Path) -> tuple[Path, Path]:
    """Iris as two CSV files with the species (text) in the first column, named ``species``,
    and one extreme typo in a training cell (robust scaling clips it)."""
    datasets = pytest.importorskip("sklearn.datasets", reason="the iris data comes with scikit-learn")
    iris = datasets.load_iris()
    order = np.random.default_rng(0).permutation(len(iris.target))
    names = [name.replace(" (cm)", "").replace(" ", "_") for name in iris.feature_names]
    lines = [",".join(["species", *names])]
    lines += [",".join([iris.target_names[iris.target[i]], *map(str, iris.data[i])]) for i in order]
    lines[5] = lines[5].rsplit(",", 1)[0] + ",1e6"
    train, test = folder / "train.csv", folder / "test.csv"
    train.write_text("\n".join(lines[:121]) + "\n")
    test.write_text("\n".join([lines[0], *lines[121:]]) + "\n")
    return train, test


@pytest.mark.slow  # 500 epochs (the steps rule), each writing its checkpoint
def test_a_csv_with_a_named_text_label_trains_the_same_in_a_sweep(tmp_path):
    train, test = write_iris(tmp_path)
    settings = {"dataset": f"csv:{train}", "label_column": "species", "task": "classification",
                "test_data": str(test), "layers": [4, 16, 3]}
    with warnings.catch_warnings(record=True):
        run = prepare_run(build_config(settings))
    assert run.config.epochs == 500  # the steps rule on the 108 rows left after validation
    assert run.data.class_names == ["setosa", "versicolor", "virginica"]
    assert run.data.x_train.max() < 1e6  # the typo, clipped
    assert len(run.data.x_test) == 30  # every row of the test file
    assert_same_arrays(*train_and_sweep(tmp_path, settings, lr=0.01))


@pytest.mark.slow
@pytest.mark.skipif(not mnist_present(), reason=f"MNIST is not in {DATA_DIR / 'mnist'}")
def test_mnist_trains_the_same_in_a_sweep(tmp_path):
    settings = {"dataset": "mnist", "data_dir": str(DATA_DIR), "train_limit": 2000, "epochs": 2}
    assert_same_arrays(*train_and_sweep(tmp_path, settings, lr=0.002))

"""The ``barenet`` command line, end to end, as a subprocess on small synthetic data: a run
folder and the commands that read it, drawn images, the other subcommands, MNIST out of the box.

Resume, Ctrl-C, early stopping and divergence: test_cli_training.py; bad input: test_cli_bad_input.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    DATA_DIR,
    assert_clean_error,
    assert_png,
    assert_same_arrays,
    barenet,
    cli_environment,
    draw_shape,
    mnist_present,
    printed_test_line,
    run_main,
    save_png,
    shapes_dataset,
)

from barenet import load
from barenet.runs.config import read_toml

# ---- a spirals run, shared by the tests that use its folder ------------------------------------


@pytest.fixture(scope="module")
def spirals(tmp_path_factory):
    """``barenet train --dataset spirals`` for 6 epochs: (folder, CompletedProcess)."""
    root = tmp_path_factory.mktemp("spirals")
    result = barenet(
        "train", "--dataset", "spirals", "--epochs", 6, "--verbose-every", 2, "--out", "run", cwd=root
    )
    assert result.returncode == 0, result.stderr
    return root / "run", result


def test_train_writes_the_run_folder(spirals):
    folder, result = spirals
    for name in ("model.npz", "config.toml", "history.csv", "checkpoint.npz"):
        assert (folder / name).is_file(), name
    assert_png(folder / "history.png")
    assert_png(folder / "confusion_matrix.png")
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,loss,accuracy,val_loss,val_accuracy,lr"
    assert [row.split(",")[0] for row in history[1:]] == ["1", "2", "3", "4", "5", "6"]
    settings = read_toml(folder / "config.toml")
    assert settings["layers"] == [2, 100, 3]
    assert settings["loss"] == "cross_entropy" and settings["epochs"] == 6
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["2/6", "4/6", "6/6"]
    assert f"run folder: {Path('run')}" in result.stdout
    assert "Traceback" not in result.stderr


def test_evaluate_prints_the_accuracy_train_printed(spirals, tmp_path):
    folder, trained = spirals
    result = barenet("evaluate", folder / "model.npz", "--plot", tmp_path / "matrix.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert printed_test_line(result.stdout) == printed_test_line(trained.stdout)
    assert "precision" in result.stdout and "recall" in result.stdout
    matrix_lines = result.stdout.split("confusion matrix (rows: true class")[1].splitlines()[2:5]
    counts = np.array([[int(cell) for cell in line.split()[1:]] for line in matrix_lines])
    assert counts.sum() == 300  # the spirals test set
    accuracy = float(printed_test_line(result.stdout).split("accuracy")[1])
    assert np.trace(counts) / 300 == pytest.approx(accuracy, abs=5e-5)
    assert_png(tmp_path / "matrix.png")


def test_config_toml_repeats_the_run_bit_for_bit(spirals):
    folder, _ = spirals
    result = barenet(
        "train", "--config", folder / "config.toml", "--out", "again", "--quiet", cwd=folder.parent
    )
    assert result.returncode == 0, result.stderr
    assert_same_arrays(folder / "model.npz", folder.parent / "again" / "model.npz")
    assert not [line for line in result.stdout.splitlines() if line.startswith(("training", "epoch"))]


def test_summary_and_plot(spirals, tmp_path):
    folder, _ = spirals
    result = barenet("summary", folder / "model.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Dense(in_features=2, out_features=100)" in result.stdout
    assert "total parameters: 603" in result.stdout
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "history.csv").write_bytes((folder / "history.csv").read_bytes())
    result = barenet("plot", copy, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_png(copy / "history.png")


def test_predict_csv_rows_as_text_and_json(spirals, tmp_path):
    folder, _ = spirals
    points = np.array([[0.1, 0.2], [-0.5, 0.4], [0.7, -0.7]], dtype=np.float32)
    rows = tmp_path / "points.csv"
    rows.write_text("x1,x2\n" + "\n".join(f"{a},{b}" for a, b in points) + "\n")
    expected = load(folder / "model.npz").predict(points)
    text = barenet("predict", folder / "model.npz", rows, "--top", 2, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{rows}:{i}" for i in (2, 3, 4)]  # file lines
    assert [int(line.split(": ")[1].split()[0]) for line in lines] == list(expected)
    as_json = barenet("predict", folder / "model.npz", rows, "--json", cwd=tmp_path)
    results = json.loads(as_json.stdout)
    assert [entry["prediction"] for entry in results] == list(expected)
    probabilities = load(folder / "model.npz").predict_proba(points)
    for entry, row in zip(results, probabilities):
        assert [top["class"] for top in entry["top"]] == list(np.argsort(row)[::-1])
        assert sum(top["probability"] for top in entry["top"]) == pytest.approx(1, abs=1e-5)


def test_predict_refuses_an_image_for_a_two_feature_model(spirals, tmp_path):
    folder, _ = spirals
    image = save_png(draw_shape("one"), tmp_path / "one.png")
    result = barenet("predict", folder / "model.npz", image, cwd=tmp_path)
    assert_clean_error(result, "2 features", "784")


def test_resuming_a_checkpoint_of_another_architecture(spirals, tmp_path, capsys):
    folder, _ = spirals
    status, _, err = run_main(
        [
            "train",
            "--resume",
            str(folder / "checkpoint.npz"),
            "--layers",
            "2",
            "50",
            "3",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert status == 1 and "Traceback" not in err
    assert err.startswith(
        f"barenet: error: {folder / 'checkpoint.npz'} is a checkpoint of another architecture"
    )
    assert "'out_features': 100" in err and "'out_features': 50" in err


# ---- images: a model trained on drawn shapes reads drawn PNGs ----------------------------------


def test_predict_reads_drawn_pngs_the_mnist_way(tmp_path):
    x, y = shapes_dataset(360, np.random.default_rng(0))
    np.savez(tmp_path / "shapes.npz", x=x, y=y)
    trained = barenet(
        "train",
        "--dataset",
        "npz:shapes.npz",
        "--layers",
        784,
        32,
        3,
        "--epochs",
        8,
        "--out",
        "run",
        "--quiet",
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    assert float(printed_test_line(trained.stdout).split("accuracy")[1]) == 1.0
    files = [
        save_png(draw_shape("one", size=120, offset=(25, -10)), tmp_path / "one.png"),
        save_png(draw_shape("one", size=80, dark_on_light=True, width=6), tmp_path / "one_on_paper.png"),
        save_png(draw_shape("ring", dark_on_light=True, width=6), tmp_path / "zero_on_paper.png"),
        save_png(draw_shape("dash", size=120, width=10), tmp_path / "dash.png"),
    ]
    result = barenet("predict", "run/model.npz", *[f.name for f in files], "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    predictions = {Path(entry["input"]).stem: entry["prediction"] for entry in json.loads(result.stdout)}
    assert predictions == {"one": 0, "one_on_paper": 0, "zero_on_paper": 2, "dash": 1}
    text = barenet("predict", "run/model.npz", "one_on_paper.png", cwd=tmp_path)
    assert text.stdout.startswith("one_on_paper.png: 0  (0: ")


# ---- the other subcommands -----------------------------------------------------------------------


def test_gradcheck_prints_a_table(tmp_path):
    result = barenet("gradcheck", "--layers", 3, 5, 4, "--activation", "sigmoid", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("gradient check of 3-5-4 (sigmoid, cross_entropy)")
    rows = [line.split() for line in lines if line.split()[:1] and "Dense" in line.split()[0]]
    assert [row[0] for row in rows] == ["0.Dense.weight", "0.Dense.bias", "2.Dense.weight", "2.Dense.bias"]
    assert all(float(row[1]) < 1e-6 and row[2] == "ok" for row in rows)
    assert lines[-1].startswith("passed")


def test_data_describes_a_data_set(tmp_path):
    result = barenet("data", "spirals", "--out", "spirals.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "spirals: classification, 3 classes" in result.stdout
    assert "train  x (600, 2) float32" in result.stdout
    assert "class counts: 0: 200, 1: 200, 2: 200" in result.stdout
    assert_png(tmp_path / "spirals.png")


def test_data_of_an_image_file_draws_a_grid(tmp_path, capsys):
    x, y = shapes_dataset(40, np.random.default_rng(1))
    np.savez(tmp_path / "shapes.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    status, out, err = run_main(
        ["data", f"npz:{tmp_path / 'shapes.npz'}", "--out", str(tmp_path / "grid.png"), "--samples", "9"],
        capsys,
    )
    assert status == 0, err
    assert "x (40, 784) uint8, values 0 to 255" in out
    counts = np.bincount(y, minlength=3)
    assert f"class counts: 0: {counts[0]}, 1: {counts[1]}, 2: {counts[2]}" in out
    assert_png(tmp_path / "grid.png")


def test_the_classic_sine_call_works_as_written(tmp_path):
    """The tutorial's call (with fewer epochs: the full 1000 take about a minute)."""
    result = barenet(
        "train",
        "--dataset",
        "sine",
        "--layers",
        1,
        10,
        10,
        1,
        "--learning_rate",
        0.01,
        "--epochs",
        40,
        "--verbose_epoch",
        20,
        "--out",
        "run",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["20/40", "40/40"]
    settings = read_toml(tmp_path / "run" / "config.toml")
    assert (settings["output_activation"], settings["loss"], settings["lr"]) == ("sigmoid", "mse", 0.01)
    history = np.genfromtxt(tmp_path / "run" / "history.csv", delimiter=",", names=True)
    assert history["mse"][-1] < history["mse"][0]
    assert "mse" in printed_test_line(result.stdout) and "r2" in printed_test_line(result.stdout)
    assert_png(tmp_path / "run" / "fit.png")


# ---- MNIST out of the box ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not mnist_present(), reason=f"MNIST is not in {DATA_DIR / 'mnist'}")
def test_default_train_reaches_98_percent_on_mnist(tmp_path):
    environment = cli_environment(tmp_path) | {"BARENET_DATA_DIR": str(DATA_DIR)}
    environment.pop("OPENBLAS_NUM_THREADS")
    trained = barenet("train", "--out", "run", "--quiet", cwd=tmp_path, env=environment, timeout=600)
    assert trained.returncode == 0, trained.stderr
    line = printed_test_line(trained.stdout)
    assert float(line.split("accuracy")[1]) >= 0.98, line
    evaluated = barenet("evaluate", "run/model.npz", cwd=tmp_path, env=environment, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr
    assert printed_test_line(evaluated.stdout) == line
    for picture in ("history.png", "confusion_matrix.png", "misclassified.png", "first_layer_weights.png"):
        assert_png(tmp_path / "run" / picture)

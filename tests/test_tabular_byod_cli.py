"""Bring your own table through the command line: train on a CSV or NPZ file as a user writes
it, evaluate on a separate file, predict; what it says, and the edge sizes it refuses. Reading
the tables themselves: test_tabular_byod.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import run_main, write_table

from barenet import load
from barenet.cli.main import main
from barenet.layers import Rescale

FEATURES = ("sepal", "petal", "stem")
NAMES = ("cat", "dog", "eel")


def blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated classes in three features."""
    y = np.arange(n) % 3
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 0.0], [0.0, 4.0, 4.0]])
    return centres[y] + rng.normal(0, 0.6, (n, 3)), y


def labelled_rows(x, y, names=NAMES):
    return [[f"{value:.4f}" for value in row] + [names[label]] for row, label in zip(x, y)]


@pytest.fixture(scope="module")
def animal_run(tmp_path_factory):
    """A run on a CSV with text labels in the last column, named 'class': (folder, train and
    test files, the arrays of the test file)."""
    root = tmp_path_factory.mktemp("animals")
    rng = np.random.default_rng(0)
    x, y = blobs(90, rng)
    x_test, y_test = blobs(31, rng)
    train = write_table(root / "train.csv", [*FEATURES, "Class"], labelled_rows(x, y))
    test = write_table(root / "test.csv", [*FEATURES, "Class"], labelled_rows(x_test, y_test))
    status = main(
        [
            "train",
            "--dataset",
            f"csv:{train}",
            "--test-data",
            str(test),
            "--epochs",
            "40",
            "--out",
            str(root / "run"),
            "--quiet",
        ]
    )
    assert status == 0
    return root / "run", train, test, x_test, y_test


# ---- the command line ---------------------------------------------------------------------------


def test_train_prints_what_it_decided_and_keeps_the_names(animal_run, capsys, tmp_path):
    folder, train, test, _, _ = animal_run
    model = load(folder / "model.npz")
    assert model.metadata["class_names"] == list(NAMES)
    assert model.metadata["feature_names"] == list(FEATURES)
    status, out, _ = run_main(
        ["train", "--dataset", f"csv:{train}", "--epochs", 2, "--out", tmp_path / "r"], capsys
    )
    assert status == 0
    for said in (
        "label column: 'Class' (column 4), named 'Class'",
        "task: classification (the labels are text)",
        "3 classes: cat, dog, eel",
        "18 of the 90 rows held out",
        "extreme outliers clipped",
    ):
        assert said in out


def test_evaluate_scores_every_row_of_a_test_file(animal_run, capsys):
    folder, _, test, _, y_test = animal_run
    status, out, _ = run_main(["evaluate", folder / "model.npz", "--dataset", f"csv:{test}"], capsys)
    assert status == 0
    assert f"{len(y_test)} test samples" in out  # all 31 rows, not a 20 % split of them
    accuracy = float(out.split("accuracy ")[1].split()[0])
    assert accuracy > 0.9
    assert "cat" in out and "eel" in out  # the report names the user's classes


def test_predict_with_the_label_column_present_uses_the_stored_feature_names(animal_run, capsys, tmp_path):
    folder, _, test, x_test, y_test = animal_run
    reordered = write_table(
        tmp_path / "reordered.csv",
        ["Class", "stem", "sepal", "petal"],
        [[NAMES[label], *row[[2, 0, 1]]] for row, label in zip(x_test, y_test)],
    )
    features_only = write_table(tmp_path / "features.csv", None, [list(row) for row in x_test])
    headerless = write_table(tmp_path / "headerless.csv", None, labelled_rows(x_test, y_test))
    outputs = []
    for path in (test, reordered, features_only, headerless):
        status, out, err = run_main(["predict", folder / "model.npz", path, "--json"], capsys)
        assert status == 0, err
        outputs.append([result["label"] for result in json.loads(out)])
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]
    assert np.mean([label == NAMES[true] for label, true in zip(outputs[0], y_test)]) > 0.9
    status, out, _ = run_main(["predict", folder / "model.npz", test], capsys)
    assert out.splitlines()[0].startswith(f"{test}:2: ") and out.split(": ")[1].split()[0] in NAMES


def test_batch_predict_reports_a_bad_file_and_goes_on(animal_run, capsys, tmp_path):
    folder, _, test, _, y_test = animal_run
    (tmp_path / "broken.csv").write_text("sepal,petal,stem\n1,two,3\n")
    status, out, err = run_main(
        ["predict", folder / "model.npz", tmp_path / "broken.csv", tmp_path / "absent.png", test], capsys
    )
    assert status == 1
    assert len(out.splitlines()) == len(y_test)  # the good file was still predicted
    assert "line 2, column 2: non-numeric value 'two'" in err
    assert "2 of 3 files could not be read" in err


def test_nan_is_reported_before_training(tmp_path, capsys):
    path = write_table(tmp_path / "d.csv", ["a", "b", "label"], [[1, 2, 0], [3, 4, 1]] * 10 + [[5, "NaN", 1]])
    status, _, err = run_main(["train", "--dataset", f"csv:{path}", "--out", tmp_path / "run"], capsys)
    assert status == 1 and "line 22, column 2: missing value 'NaN'" in err
    assert not (tmp_path / "run").exists()  # nothing trained, no half-written run folder


def test_regression_targets_are_scaled_inside_the_model(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (120, 2))
    y = 5000 + 800 * x[:, 0] - 300 * x[:, 1] ** 2
    path = write_table(tmp_path / "r.csv", ["u", "v", "price"], [[*row, f"{t:.3f}"] for row, t in zip(x, y)])
    status, out, _ = run_main(
        [
            "train",
            "--dataset",
            f"csv:{path}",
            "--label-column",
            "price",
            "--epochs",
            150,
            "--out",
            tmp_path / "run",
            "--quiet",
        ],
        capsys,
    )
    assert status == 0
    r2 = float(out.split("r2 ")[1].split()[0])
    assert r2 > 0.95
    model = load(tmp_path / "run" / "model.npz")
    assert isinstance(model.layers[-1], Rescale) and model.layers[-1].offset == pytest.approx(
        y.mean(), rel=0.05
    )
    prediction = model.predict(np.array([[0.0, 0.0]], np.float32))[0, 0]
    assert prediction == pytest.approx(5000, abs=150)  # in the user's units


def test_task_option_and_label_index_on_the_command_line(tmp_path, capsys):
    rows = [[value % 5, value % 3, value] for value in range(40)]  # last column: 40 whole numbers
    path = write_table(tmp_path / "d.csv", None, rows)
    status, out, _ = run_main(
        ["train", "--dataset", f"csv:{path}", "--epochs", 1, "--out", tmp_path / "a"], capsys
    )
    assert status == 0 and "task: regression (the labels are 40 distinct whole numbers (> 20))" in out
    status, out, _ = run_main(
        [
            "train",
            "--dataset",
            f"csv:{path}",
            "--label-column",
            0,
            "--task",
            "classification",
            "--epochs",
            1,
            "--out",
            tmp_path / "b",
        ],
        capsys,
    )
    assert status == 0 and "label column: 'column 1' (column 1), given by position" in out
    assert "5 classes: 0, 1, 2, 3, 4" in out


def test_outlier_warning_names_the_column(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x, y = blobs(60, rng)
    x[7, 1] = 1e30
    path = write_table(tmp_path / "d.csv", [*FEATURES, "label"], labelled_rows(x, y))
    status, _, err = run_main(
        ["train", "--dataset", f"csv:{path}", "--epochs", 1, "--out", tmp_path / "r"], capsys
    )
    assert status == 0
    assert "feature 'petal' has 1 extreme value(s), e.g. 1e+30" in err and "clipped" in err


# ---- edge sizes -------------------------------------------------------------------------------


def test_too_few_rows_and_zero_epochs(tmp_path, capsys):
    path = write_table(tmp_path / "tiny.csv", ["a", "label"], [[1, 0], [2, 1], [3, 0]])
    status, _, err = run_main(["train", "--dataset", f"csv:{path}", "--out", tmp_path / "r"], capsys)
    assert (
        status == 1
        and "has 3 rows; holding out 20% of them as the test set needs a class of at least 3 rows" in err
    )
    path = write_table(tmp_path / "small.csv", ["a", "label"], [[value, value % 2] for value in range(8)])
    status, _, err = run_main(["train", "--dataset", f"csv:{path}", "--out", tmp_path / "r"], capsys)
    assert status == 1 and "6 training rows are too few for --val-split 0.1: it needs at least" in err
    status, _, err = run_main(
        ["train", "--dataset", f"csv:{path}", "--epochs", 0, "--out", tmp_path / "r"], capsys
    )
    assert status == 1 and "epochs must be >= 1; got 0" in err
    assert not (tmp_path / "r").exists()


def test_data_samples_is_validated(capsys):
    for count in ("100000", "0", "-1", "many"):
        status, _, err = run_main(["data", "spirals", "--samples", count], capsys)
        assert status == 2 and "--samples" in err and "Traceback" not in err


def test_help_shows_defaults_and_the_csv_layout(capsys):
    status, out, _ = run_main(["train", "--help"], capsys)
    assert status == 0
    text = " ".join(out.split())
    for said in (
        "(default: 15; sine: 1000; spirals: 200; csv/npz: enough for 2000 steps)",
        "(default: 0.1; spirals: 0.2)",
        "--label-column NAME|INDEX",
        "--task {classification,regression}",
        "CSV files (csv:PATH)",
        "hold out 20 % of the rows as the test set",
        "per-dataset defaults",
    ):
        assert said in text
    status, out, _ = run_main(["predict", "--help"], capsys)
    assert "(default: 3)" in " ".join(out.split())


def test_gradcheck_counts_and_large_layers(capsys):
    for argv, message in (
        (["--layers", 4, 1, "--output-activation", "softmax"], "a softmax over one output is always 1"),
        (["--layers", 4, 3, "--samples", 0], "--samples: expected a whole number >= 1, got 0"),
        (["--layers", 4, 3, "--entries", -2], "--entries: expected a whole number >= 1, got -2"),
        (["--layers", 4, 0, 3], "layer_sizes[1]"),
    ):
        status, _, err = run_main(["gradcheck", *argv], capsys)
        assert status in (1, 2) and message in err and "Traceback" not in err
    status, out, _ = run_main(["gradcheck", "--layers", 200, 40, 3, "--samples", 4], capsys)
    assert status == 0
    assert "100 random entries of each parameter array (8,163 parameters in all; --entries N)" in out
    assert out.splitlines()[-1].startswith("passed")


def test_progress_line_drops_the_least_important_fields_first(monkeypatch):
    from barenet.training import progress

    logs = {"loss": 0.1, "accuracy": 0.9, "val_loss": 0.2, "val_accuracy": 0.8, "lr": 0.001, "mse": 1.0}
    assert progress.format_logs(logs) == progress.format_logs(logs, 1000)
    assert progress.format_logs(logs, 60) == "loss 0.1000  accuracy 0.9000  val_loss 0.2000"
    assert progress.format_logs(logs, 30) == "loss 0.1000  val_loss 0.2000"
    assert progress.format_logs(logs, 3) == "loss 0.1000"  # the loss always stays
    monkeypatch.setenv("COLUMNS", "70")
    monkeypatch.setattr(progress.sys.stdout, "isatty", lambda: True)
    assert progress.terminal_width() == 70


def test_evaluate_an_archive_uses_its_test_split_and_a_model_without_names(tmp_path, capsys):
    from barenet import mlp

    rng = np.random.default_rng(3)
    x, y = blobs(40, rng)
    np.savez(tmp_path / "a.npz", x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:])
    model = mlp([3, 8, 3], rng=0)  # built in Python: no class names in its file
    model.save(tmp_path / "m.npz")
    status, out, err = run_main(
        ["evaluate", tmp_path / "m.npz", "--dataset", f"npz:{tmp_path / 'a.npz'}"], capsys
    )
    assert status == 0, err
    assert "10 test samples" in out

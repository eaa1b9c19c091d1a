"""Bad input to the ``barenet`` command line: one clear error, no traceback. (Resuming a
checkpoint of another architecture needs a trained run: test_cli.py.)"""

from __future__ import annotations

import pytest
from helpers import assert_clean_error, barenet, run_main

# ---- bad input: one clear error, no traceback -------------------------------------------------------


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["train", "--optimiser", "adam"],
            ["unrecognized arguments: --optimiser", "did you mean --optimizer?"],
        ),
        (["train", "--optimizer", "adamx"], ["unknown optimizer 'adamx'", "sgd, momentum, nesterov"]),
        (
            ["train", "--activation", "relu6"],
            ["unknown activation 'relu6'", "relu, leaky_relu, sigmoid, tanh"],
        ),
        (["train", "--dataset", "cifar"], ["unknown dataset 'cifar'", "mnist, fashion-mnist, sine, spirals"]),
        (["train", "--lr-schedule", "linear"], ["unknown lr_schedule", "constant, inverse_time, step"]),
        (["train", "--batch-size", "many"], ["--batch-size", "'full'"]),
        (["train", "--epochs", "-1"], ["epochs must be >= 1"]),
        (["train", "--dataset", "spirals", "--layers", "3", "10", "3"], ["2 features", "must be 2"]),
        (["train", "--dataset", "spirals", "--layers", "2", "10", "10"], ["3 classes", "must be 3"]),
        (["train", "--dataset", "sine", "--layers", "1", "8", "2"], ["1 target value", "must be 1"]),
        (["train", "--dataset", "csv:missing.csv"], ["missing.csv"]),
        (["train", "--config", "missing.toml"], ["no config file at missing.toml"]),
        (["gradcheck", "--layers", "3"], ["--layers needs at least two sizes"]),
        (["evaluate", "missing.npz"], ["no model file at missing.npz"]),
        (["plot", "."], ["no history.csv"]),
        (["trian"], ["invalid choice: 'trian'", "'train'"]),
    ],
)
def test_bad_input_is_one_clear_error(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(argv, capsys)
    assert status in (1, 2)
    assert "Traceback" not in err
    assert err.startswith("barenet: error: ")
    for text in expected:
        assert text in err.splitlines()[0], err


def test_bad_input_as_a_subprocess(tmp_path):
    result = barenet("train", "--dataset", "spirals", "--layers", 2, 10, 4, cwd=tmp_path)
    assert_clean_error(result, "the spirals data has 3 classes", status=1)
    assert len(result.stderr.strip().splitlines()) == 1
    result = barenet("train", "--optimiser", "sgd", cwd=tmp_path)
    assert_clean_error(result, "did you mean --optimizer?", "barenet train --help", status=2)


def test_missing_mnist_says_where_it_looked_and_how_to_provide_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = barenet("train", "--data-dir", empty, "--epochs", 1, cwd=tmp_path, timeout=60)
    err = assert_clean_error(result, "MNIST was not found", str(empty), "--data-dir", "BARENET_DATA_DIR")
    assert str(tmp_path / "cache") in err  # the cache was searched, and is where downloads go
    assert not (tmp_path / "run").exists()


def test_bad_toml_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('dataset = "spirals"\nepoch = 3\n')
    err = assert_clean_error(
        barenet("train", "--config", bad, cwd=tmp_path), "unknown key 'epoch'", "'epochs'"
    )
    assert "valid keys are: dataset, data_dir" in err
    bad.write_text('dataset = "spirals"\nepochs = "three"\n')
    assert_clean_error(barenet("train", "--config", bad, cwd=tmp_path), "bad.toml: epochs must be an integer")


def test_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status, _, err = run_main(
        ["train", "--dataset", "spirals", "--epochs", "1", "--out", str(blocker / "run")], capsys
    )
    assert status == 1 and "Traceback" not in err
    assert err.startswith(f"barenet: error: cannot write the run folder {blocker / 'run'}")
    assert "--out DIR" in err

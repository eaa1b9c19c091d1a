"""``barenet train`` over time, as a subprocess on small synthetic data: resuming bit for bit,
Ctrl-C, early stopping, divergence, and the warning about unscaled pixels."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import (
    assert_clean_error,
    assert_same_arrays,
    barenet,
    cli_environment,
    printed_test_line,
)

from barenet import load
from barenet.training.checkpoints import read_checkpoint

# ---- resume, Ctrl-C, early stopping, divergence ----------------------------------------------


SPIRALS = ("--dataset", "spirals", "--dropout", 0.2, "--quiet")


def test_resume_gives_the_uninterrupted_run_bit_for_bit(tmp_path):
    whole = barenet("train", *SPIRALS, "--epochs", 4, "--out", "whole", cwd=tmp_path)
    half = barenet("train", *SPIRALS, "--epochs", 2, "--out", "half", cwd=tmp_path)
    assert whole.returncode == 0 and half.returncode == 0, whole.stderr + half.stderr
    resumed = barenet("train", "--resume", "half/checkpoint.npz", "--epochs", 4, "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_arrays(tmp_path / "whole" / "model.npz", tmp_path / "half" / "model.npz")
    assert (tmp_path / "whole" / "history.csv").read_text() == (tmp_path / "half" / "history.csv").read_text()
    assert printed_test_line(resumed.stdout) == printed_test_line(whole.stdout)


BATCH_NORM_STACK = """layers = [
    { type = "Dense", in_features = 2, out_features = 32 },
    { type = "BatchNorm1D", num_features = 32 },
    { type = "ReLU" },
    { type = "Dense", in_features = 32, out_features = 3 },
    { type = "Softmax" },
]
"""


@pytest.mark.parametrize("stack", ["mlp", "batch norm"])  # batch norm: the halves exchange their sums
def test_a_run_with_two_workers_records_them_and_resumes_bit_for_bit(tmp_path, stack):
    two = (*SPIRALS, "--workers", 2)
    if stack == "batch norm":
        (tmp_path / "stack.toml").write_text(BATCH_NORM_STACK)
        two = (*two, "--config", "stack.toml")
    whole = barenet("train", *two, "--epochs", 3, "--out", "whole", cwd=tmp_path)
    half = barenet("train", *two, "--epochs", 1, "--out", "half", cwd=tmp_path)
    assert whole.returncode == 0 and half.returncode == 0, whole.stderr + half.stderr
    assert "workers = 2" in (tmp_path / "half" / "config.toml").read_text()
    resumed = barenet("train", "--resume", "half/checkpoint.npz", "--epochs", 3, "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_arrays(tmp_path / "whole" / "model.npz", tmp_path / "half" / "model.npz")
    assert printed_test_line(resumed.stdout) == printed_test_line(whole.stdout)


def test_ctrl_c_leaves_a_checkpoint_that_resumes_exactly(tmp_path):
    command = ["train", "--dataset", "spirals", "--epochs", "100000", "--verbose-every", "1", "--out", "run"]
    process = subprocess.Popen(
        [sys.executable, "-m", "barenet", *command],
        cwd=tmp_path,
        env=cli_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:
            if line.startswith("epoch 1/"):
                break
        time.sleep(0.2)  # some batches into a later epoch
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.startswith("barenet: interrupted during epoch"), err
    assert "resume with: barenet train --resume " in err
    description, arrays = read_checkpoint(tmp_path / "run" / "checkpoint.npz")
    stopped_after = description["epoch"]
    assert stopped_after >= 1 and "model.layers.0.weight" in arrays
    target = stopped_after + 2
    resumed = barenet("train", "--resume", "run/checkpoint.npz", "--epochs", target, "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    whole = barenet(
        "train", "--dataset", "spirals", "--epochs", target, "--out", "whole", "--quiet", cwd=tmp_path
    )
    assert whole.returncode == 0, whole.stderr
    assert_same_arrays(tmp_path / "whole" / "model.npz", tmp_path / "run" / "model.npz")
    assert (tmp_path / "whole" / "history.csv").read_text() == (tmp_path / "run" / "history.csv").read_text()


def test_early_stopping_stops_and_says_why(tmp_path):
    result = barenet(
        "train",
        "--dataset",
        "spirals",
        "--early-stopping",
        2,
        "--epochs",
        300,
        "--lr",
        0.05,
        "--out",
        "run",
        "--quiet",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "early stopping after epoch" in result.stdout
    assert "val_loss has not improved for 2 epochs" in result.stdout
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]
    stopped = int(result.stdout.split("early stopping after epoch ")[1].split(":")[0])
    assert len(rows) == stopped < 300


def test_divergence_stops_with_a_reason_and_finite_weights(tmp_path):
    result = barenet(
        "train",
        "--dataset",
        "sine",
        "--optimizer",
        "sgd",
        "--lr",
        1e4,
        "--output-activation",
        "identity",
        "--epochs",
        5,
        "--out",
        "run",
        cwd=tmp_path,
    )
    err = assert_clean_error(result, "training diverged", "learning rate", "scale the inputs", status=1)
    assert "overflow" not in err and "RuntimeWarning" not in err
    assert "run/model.npz" in err
    model = load(tmp_path / "run" / "model.npz")
    assert all(np.isfinite(parameter.value).all() for parameter in model.parameters())


def test_unscaled_pixels_that_make_one_class_get_a_warning(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 600)
    x = rng.integers(0, 40, (600, 20, 20)).astype(np.uint8)  # 20x20 pixel images, 0-255
    for image, label in zip(x, y):
        image[2 * label : 2 * label + 2, 3:17] = 255  # a bar whose height is the class
    np.savez(tmp_path / "bars.npz", x=x.reshape(600, -1), y=y)
    result = barenet(
        "train",
        "--dataset",
        "npz:bars.npz",
        "--preprocess",
        "none",
        "--optimizer",
        "sgd",
        "--lr",
        0.05,
        "--layers",
        400,
        64,
        10,
        "--batch-size",
        16,
        "--epochs",
        3,
        "--dropout",
        0,
        "--out",
        "run",
        "--quiet",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("barenet: warning:")]
    assert any("the inputs are not scaled: values reach 255" in line for line in warnings), result.stderr
    assert any("the network predicts class" in line and "unscaled inputs" in line for line in warnings)

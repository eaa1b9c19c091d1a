"""Every example runs, end to end, on a slice of the data for an epoch or two: what it prints is
what its results file holds, that number shows it learned, the model it saves scores what it
reported, and its plots are written; so the examples behind docs/results.md cannot rot."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
pytestmark = pytest.mark.slow  # each runs an example script, most of them on MNIST

# script -> (length option and value, result file, where its headline number is, the least it
# must reach on this slice of 2,000 training images (chance: 10 %), plots). The examples'
# published numbers need the full runs; a slice must still clearly learn.
SCRIPTS = {
    "01_three_layer_full_batch.py": (["--iterations", "60"], "01_three_layer_full_batch",
                                     "test_accuracy.mean", 0.6, ["01_test_accuracy"]),
    "02_two_layer.py": (["--iterations", "60"], "02_two_layer", "test_accuracy.mean", 0.25,
                        ["02_test_accuracy"]),
    "03_regularised_minibatch.py": (["--epochs", "2"], "03_regularised_minibatch", "test_accuracy", 0.6,
                                    ["03_loss_accuracy"]),
    "04_activations.py": (["--epochs", "15"], "04_activations", None, None, ["04_activations"]),
    "05_sine_regression.py": (["--epochs", "100"], "05_sine_regression", "test_r2", 0.5, ["05_sine"]),
    "07_best_mlp.py": (["--epochs", "1"], "07_best_mlp", "test_accuracy", 0.6, ["07_best_mlp"]),
    "08_cnn_fast.py": (["--epochs", "1"], "08_cnn_fast", "test_accuracy", 0.6, []),
    "08_cnn_best.py": (["--epochs", "1"], "08_cnn_best_mnist", "test_accuracy", 0.6, []),
    # a language model: its headline is a loss, at most this many nats per character (ln 65 = 4.17)
    "09_char_lstm.py": (["--steps", "60", "--hidden", "64"], "09_char_lstm", "validation_loss", 3.4, []),
}
TOML_CONFIGS = ["06_modern_default.toml"]
NEEDS_MNIST = set(SCRIPTS) - {"05_sine_regression.py", "09_char_lstm.py"}


def mnist_folder() -> Path | None:
    """A data folder holding MNIST: $BARENET_DATA_DIR, else the shared one beside the repository."""
    candidates = [os.environ.get("BARENET_DATA_DIR"), ROOT.parent / "shared" / "data"]
    for candidate in filter(None, candidates):
        for folder in (Path(candidate) / "mnist", Path(candidate)):
            if any(folder.glob("train-images-idx3-ubyte*")) or (folder / "mnist.npz").exists():
                return Path(candidate)
    return None


def run(arguments: list[str], data_dir: Path | None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    if data_dir is not None:
        environment["BARENET_DATA_DIR"] = str(data_dir)
    result = subprocess.run([sys.executable, *arguments], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, f"{arguments} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def shakespeare_folder() -> Path | None:
    """A data folder holding tinyshakespeare/input.txt, found as MNIST's is."""
    candidates = [os.environ.get("BARENET_DATA_DIR"), ROOT.parent / "shared" / "data"]
    found = [Path(c) for c in filter(None, candidates)
             if (Path(c) / "tinyshakespeare" / "input.txt").is_file()]
    return found[0] if found else None


def headline(results: dict, key: str) -> float:
    """The number under ``key`` (``"test_accuracy.mean"``: a nested key) of a results file."""
    for part in key.split("."):
        results = results[part]
    return float(results)


def printed_result(stdout: str) -> str:
    """The example's ``RESULT ...`` line."""
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT")]
    assert len(lines) == 1, stdout
    return lines[0]


def test_every_example_is_tested():
    on_disk = {p.name for p in EXAMPLES.iterdir()
               if p.suffix in (".py", ".toml") and not p.name.startswith("_")}
    assert on_disk == set(SCRIPTS) | set(TOML_CONFIGS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_script_reaches_what_it_prints_on_a_slice(script, tmp_path):
    data_dir = shakespeare_folder() if script == "09_char_lstm.py" else mnist_folder()
    if script == "09_char_lstm.py" and data_dir is None:
        pytest.skip("tiny Shakespeare not found: set BARENET_DATA_DIR to a folder holding tinyshakespeare/")
    if script in NEEDS_MNIST and data_dir is None:
        pytest.skip("MNIST not found: set BARENET_DATA_DIR to a folder holding mnist/ (e.g. ../shared/data)")
    length, result_name, key, least, plots = SCRIPTS[script]
    output = run([str(EXAMPLES / script), *length, "--train-limit", "2000", "--out", str(tmp_path)], data_dir)
    line = printed_result(output.stdout)
    results = json.loads((tmp_path / f"{result_name}.json").read_text())
    if key is None:
        check_activations(results, line)
    elif key == "validation_loss":
        number = headline(results, key)
        assert f"validation loss {number:.4f} nats/character" in line, line
        assert 0 < number <= least, f"{result_name}: validation loss {number} > {least}"
    else:
        number = headline(results, key)
        shown = f"test R² {number:.4f}" if key == "test_r2" else f"test accuracy {number:.2%}"
        assert shown in line, f"the file holds {number}, the example printed {line!r}"
        assert math.isfinite(number) and least <= number <= 1, f"{result_name}: {key} {number} < {least}"
    model_file = tmp_path / f"{result_name}.npz"
    if model_file.exists() and "test_accuracy" in results:  # the model it saved scores what it reported
        check_saved_model(model_file, data_dir, results["test_accuracy"])
    for plot in plots:
        png = tmp_path / f"{plot}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def check_activations(results: dict, line: str) -> None:
    """Experiment 4's claim: every raw/summed run collapses or diverges, and barenet says the
    pixels are not scaled; scaled pixels with the mean cost learn (ReLU, tanh, leaky ReLU)."""
    runs = {(run["activation"], run["pixels"], run["cost"]): run for run in results["runs"]}
    for (activation, pixels, cost), run in runs.items():
        shown = f"{activation} {pixels}/{cost} {run['test_accuracy']:.1%} ({run['status']})"
        assert shown in line, f"{shown!r} not in {line!r}"
        if pixels == "raw":
            assert any("not scaled" in warning for warning in run["warnings"]), run["warnings"]
            if cost == "summed":
                assert run["status"] in ("collapsed", "diverged"), run
    for activation in ("relu", "tanh", "leaky_relu"):
        run = runs[activation, "scaled", "mean"]
        assert run["status"] == "ok" and run["test_accuracy"] > 0.3, run


def check_saved_model(path: Path, data_dir: Path, reported: float) -> None:
    import barenet
    from barenet.datasets import load_mnist

    _, (x_test, y_test) = load_mnist(data_dir)
    rows = x_test.reshape(len(x_test), -1).astype(np.float32)
    accuracy = float(np.mean(barenet.load(path).predict(rows) == y_test))
    assert accuracy == pytest.approx(reported, abs=1e-4), f"{path} scores {accuracy}, not {reported}"


@pytest.mark.parametrize("config", TOML_CONFIGS)
def test_example_config_trains_with_the_cli(config, tmp_path):
    data_dir = mnist_folder()
    if data_dir is None:
        pytest.skip("MNIST not found: set BARENET_DATA_DIR to a folder holding mnist/ (e.g. ../shared/data)")
    output = run(["-m", "barenet", "train", "--config", str(EXAMPLES / config), "--epochs", "1",
                  "--train-limit", "2000", "--out", str(tmp_path)], data_dir)
    accuracy = float(re.search(r"^test loss \S+  accuracy (\S+)$", output.stdout, re.M).group(1))
    assert 0.6 <= accuracy <= 1, output.stdout
    for name in ("model.npz", "config.toml", "history.csv"):
        assert (tmp_path / name).is_file(), f"barenet train wrote no {name}"
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert len(history) == 2 and "val_accuracy" in history[0]  # one epoch, validated

"""Helpers the tests share: data, subprocesses, files and images, layer gradient checks.

Tests import them with ``from helpers import ...``; no test imports from another test file,
and nothing imports ``conftest``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from barenet.training import load_checkpoint, save_checkpoint

DATA_DIR = Path(os.environ.get("BARENET_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
"""The shared data sets: ``BARENET_DATA_DIR`` when set, else ``shared/data`` beside the checkout."""
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte")


def mnist_present() -> bool:
    folder = DATA_DIR / "mnist"
    return (
        any((folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in MNIST_FILES)
        or (folder / "mnist.npz").is_file()
    )


def cli_environment(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``barenet`` subprocess: no data folder from the user, an empty
    cache, and downloads that fail at once (a proxy on a closed local port) instead of
    reaching for the network."""
    env = {key: value for key, value in os.environ.items() if key != "BARENET_DATA_DIR"}
    unreachable = "http://127.0.0.1:9"
    env |= {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "http_proxy": unreachable,
        "https_proxy": unreachable,
        "HTTP_PROXY": unreachable,
        "HTTPS_PROXY": unreachable,
        "no_proxy": "",
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONWARNINGS": "default",
    }
    return env


def barenet(*args: object, cwd: Path, env: dict | None = None, timeout: float = 120):
    """Run ``python -m barenet ARGS`` in ``cwd``; returns the CompletedProcess (text)."""
    return subprocess.run(
        [sys.executable, "-m", "barenet", *map(str, args)],
        cwd=cwd,
        env=env if env is not None else cli_environment(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_clean_error(result, *expected: str, status: int | None = None) -> str:
    """A failed command: non-zero exit, an error line on stderr naming each ``expected``
    text, and no traceback. Returns stderr."""
    err = result.stderr
    assert result.returncode != 0, result.stdout
    if status is not None:
        assert result.returncode == status, err
    assert "Traceback" not in err, err
    assert err.startswith("barenet: error: "), err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    return err


def printed_test_line(stdout: str) -> str:
    """The ``test loss ...  accuracy ...`` line that train and evaluate print."""
    lines = [line for line in stdout.splitlines() if line.startswith("test ")]
    assert len(lines) == 1, stdout
    return lines[0]


def model_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


def assert_same_arrays(first: Path, second: Path) -> None:
    a, b = model_arrays(first), model_arrays(second)
    assert sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def assert_png(path: Path, min_size: int = 100) -> Image.Image:
    """``path`` is a PNG of at least ``min_size`` pixels a side that is not one flat colour."""
    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    image = Image.open(path)
    image.load()
    assert min(image.size) >= min_size, image.size
    assert np.asarray(image.convert("L")).std() > 1, f"{path} is blank"
    return image


def write_table(path: Path, header, rows, delimiter=",") -> Path:
    """A delimited text file at ``path``: the ``header`` line (none when it is None), then the rows."""
    lines = ([delimiter.join(header)] if header else []) + [delimiter.join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- drawn digits -----------------------------------------------------------------------------


def draw_shape(shape: str, size: int = 96, dark_on_light: bool = False, offset=(0, 0), width: int = 8):
    """A grayscale image ``(size, size)`` of a hand-drawn-like shape: "one" (a vertical stroke
    with a small flag), "dash" (a horizontal stroke) or "ring" (a zero)."""
    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    dx, dy = offset
    centre = size // 2
    if shape == "one":
        pen.line([(centre + dx, 15 + dy), (centre + dx, size - 15 + dy)], fill=255, width=width)
        pen.line([(centre - 12 + dx, 27 + dy), (centre + dx, 15 + dy)], fill=255, width=width)
    elif shape == "dash":
        pen.line([(15 + dx, centre + dy), (size - 15 + dx, centre + dy)], fill=255, width=width)
    elif shape == "ring":
        pen.ellipse([(22 + dx, 14 + dy), (size - 22 + dx, size - 14 + dy)], outline=255, width=width)
    else:
        raise ValueError(shape)
    pixels = np.asarray(image, dtype=np.uint8)
    return 255 - pixels if dark_on_light else pixels


def save_png(pixels: np.ndarray, path: Path) -> Path:
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)
    return path


SHAPES = ("one", "dash", "ring")


def shapes_dataset(n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Drawn shapes prepared the MNIST way: x uint8 ``(n_samples, 784)``, y the shape's index."""
    from barenet.runs.images import mnist_style

    y = rng.integers(0, len(SHAPES), n_samples)
    x = np.empty((n_samples, 784), dtype=np.uint8)
    for row, label in enumerate(y):
        offset = tuple(rng.integers(-10, 11, 2))
        pixels = draw_shape(SHAPES[label], offset=offset, width=int(rng.integers(5, 12)))
        x[row] = np.round(mnist_style(pixels.astype(np.float32))).reshape(-1)
    return x, y


# ---- small data and models --------------------------------------------------------------------


def four_feature_blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated classes of 4-feature float32 points: x ``(n, 4)``, y ``(n,)``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.standard_normal((n, 4)) + 2.0 * y[:, None]).astype(np.float32)
    return x, y


def loss_of(model, x: np.ndarray, y: np.ndarray) -> float:
    return model.evaluate(x, y)["loss"]


# ---- a layer's gradients by finite differences ------------------------------------------------


def numeric_gradient(function, values: np.ndarray, epsilon: float = 1e-5) -> np.ndarray:
    """Central differences of the scalar ``function()`` with respect to ``values`` (in place, restored)."""
    gradient = np.zeros_like(values)
    flat, out = values.reshape(-1), gradient.reshape(-1)
    for entry in range(flat.size):
        original = flat[entry]
        flat[entry] = original + epsilon
        plus = function()
        flat[entry] = original - epsilon
        minus = function()
        flat[entry] = original
        out[entry] = (plus - minus) / (2 * epsilon)
    return gradient


def assert_close(analytic, numeric, what: str, tolerance: float = 1e-6) -> None:
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-3)
    error = np.max(np.abs(analytic - numeric) / scale)
    assert error < tolerance, f"{what}: worst relative error {error:.2e}"


def layer_gradcheck(layer, x: np.ndarray, training: bool = True, seed: int = 12345) -> None:
    """Check ∂(Σ y ⊙ g)/∂x and every ∂/∂parameter for a random, non-uniform upstream g.

    Also checks that backward leaves the upstream gradient and the cache as they were."""
    rng = np.random.default_rng(seed)
    output, cache = layer.forward_with_cache(x.copy(), training=training)
    grad_output = rng.normal(size=output.shape)
    kept = grad_output.copy()
    grad_input = layer.backward(grad_output, cache)
    np.testing.assert_array_equal(grad_output, kept)
    assert grad_input.shape == x.shape

    def loss() -> float:
        return float(np.sum(layer.forward(x, training=training) * grad_output))

    assert_close(grad_input, numeric_gradient(loss, x), f"{type(layer).__name__} input")
    for parameter in layer.parameters():
        assert_close(parameter.grad.copy(), numeric_gradient(loss, parameter.value),
                     f"{type(layer).__name__} {parameter.name}")


def random_parameters(layer, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for parameter in layer.parameters():
        parameter.value[...] = rng.normal(size=parameter.shape)


def train_beside_predicting_threads(build, train, probe, predict_many, threads: int) -> None:
    """Train a model built by ``build()`` alone, and again while ``threads`` threads run
    ``predict_many`` and one more predicts ``probe`` with the very model being trained: the
    trained weights must be bit-identical (prediction records nothing the training step reads)."""
    import threading

    alone = train(build())
    busy = build()
    workers = [threading.Thread(target=predict_many) for _ in range(threads)]
    workers += [threading.Thread(target=lambda: [busy.predict(probe) for _ in range(20)])]
    for worker in workers:
        worker.start()
    with_threads = train(busy)
    for worker in workers:
        worker.join()
    np.testing.assert_array_equal(alone, with_threads)


def run_main(argv: list[object], capsys) -> tuple[int, str, str]:
    """``barenet ARGV`` in this process: the exit status and what it printed."""
    from barenet.cli.main import main

    try:
        status = main([str(item) for item in argv])
    except SystemExit as exit:
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_resume_is_bit_identical(make_trainer, x, y, tmp_path: Path, epochs: int = 3):
    """A trainer stopped after one epoch, checkpointed and resumed into a fresh trainer ends
    with the weights of one trained straight through; returns that straight trainer."""
    straight = make_trainer()
    straight.fit(x, y, epochs=epochs, verbose=0)
    first = make_trainer()
    first.fit(x, y, epochs=1, verbose=0)
    save_checkpoint(first, tmp_path / "checkpoint.npz")
    resumed = make_trainer()
    load_checkpoint(resumed, tmp_path / "checkpoint.npz")
    resumed.fit(x, y, epochs=epochs, verbose=0)
    np.testing.assert_array_equal(resumed.model.flat.values, straight.model.flat.values)
    return straight

"""Shared helpers of the training, command-line, plot and image tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DATA_DIR = Path(  # $BARENET_DATA_DIR, else shared/data beside the checkout
    os.environ.get("BARENET_DATA_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
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

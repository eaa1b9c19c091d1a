"""Small synthetic data sets for demos and tests.

Each returns `x` float32 `(n_samples, n_features)` and `y`: int64 class ids `(n_samples,)` for
the classification sets (spirals, moons, blobs), float32 `(n_samples, 1)` for the sine
regression. Classes are as equal in size as `n_samples` allows, and rows come in random order.
Pass `rng` (a `numpy.random.Generator` or an integer seed) for reproducible data.
"""

import numpy as np

from barenet.datasets.errors import DatasetError


def _class_ids_and_fractions(n_samples: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class ids `(n_samples,)` in blocks of near-equal size, and each sample's position within
    its block as a fraction from 0 (first) to 1 (last)."""
    if n_samples < n_classes or n_classes < 1:
        raise DatasetError(
            "need at least one sample per class: "
            f"got n_samples={n_samples} for n_classes={n_classes}."
        )
    class_sizes = np.full(n_classes, n_samples // n_classes)
    class_sizes[: n_samples % n_classes] += 1
    class_ids = np.repeat(np.arange(n_classes), class_sizes)
    block_starts = np.cumsum(class_sizes) - class_sizes
    positions = np.arange(n_samples) - block_starts[class_ids]
    fractions = positions / np.maximum(class_sizes[class_ids] - 1, 1)
    return class_ids, fractions


def _shuffled(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), y[order]


def make_sine(
    n_samples: int = 1000, noise: float = 0.0, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The sine regression of the classic tutorials: x uniform on [-2 pi, 2 pi],
    y = (sin x + 1) / 2 (so y lies in [0, 1], matching a sigmoid output), plus Gaussian noise
    of standard deviation `noise`. Returns x and y, both float32 `(n_samples, 1)`."""
    rng = np.random.default_rng(rng)
    x = rng.uniform(-2 * np.pi, 2 * np.pi, size=(n_samples, 1))
    y = 0.5 * (np.sin(x) + 1) + noise * rng.standard_normal((n_samples, 1))
    return x.astype(np.float32), y.astype(np.float32)


def make_spirals(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 0.2,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved 2-D spirals, one arm per class (the CS231n data set). Each arm runs from the
    origin to radius 1; `noise` jitters the angle. Returns x `(n_samples, 2)`, y `(n_samples,)`."""
    rng = np.random.default_rng(rng)
    class_ids, radius = _class_ids_and_fractions(n_samples, n_classes)
    angle = 4.0 * (class_ids + radius) + noise * rng.standard_normal(n_samples)
    x = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return _shuffled(x, class_ids, rng)


def make_moons(
    n_samples: int = 200, noise: float = 0.1, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 on top, class 1 below), with Gaussian noise of
    standard deviation `noise`. Returns x `(n_samples, 2)`, y `(n_samples,)`."""
    rng = np.random.default_rng(rng)
    class_ids, fractions = _class_ids_and_fractions(n_samples, 2)
    angle = np.pi * fractions
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)])
    x = np.where(class_ids[:, None] == 0, upper, lower)
    x += noise * rng.standard_normal(x.shape)
    return _shuffled(x, class_ids, rng)


def make_blobs(
    n_samples: int = 300,
    n_classes: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, one per class, centred uniformly at random in [-10, 10]^n_features.
    Returns x `(n_samples, n_features)`, y `(n_samples,)`."""
    rng = np.random.default_rng(rng)
    class_ids, _ = _class_ids_and_fractions(n_samples, n_classes)
    centres = rng.uniform(-10.0, 10.0, size=(n_classes, n_features))
    x = centres[class_ids] + cluster_std * rng.standard_normal((n_samples, n_features))
    return _shuffled(x, class_ids, rng)

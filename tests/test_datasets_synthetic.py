"""Synthetic data sets: shapes, dtypes, class balance, ranges and reproducibility."""

import numpy as np
import pytest

from barenet.datasets import DatasetError, make_blobs, make_moons, make_sine, make_spirals

CLASSIFICATION_SETS = [
    (lambda rng: make_spirals(301, n_classes=3, rng=rng), 3, 2),
    (lambda rng: make_moons(301, rng=rng), 2, 2),
    (lambda rng: make_blobs(301, n_classes=4, n_features=5, rng=rng), 4, 5),
]


@pytest.mark.parametrize(("make", "n_classes", "n_features"), CLASSIFICATION_SETS)
def test_classification_sets(make, n_classes, n_features):
    x, y = make(0)
    assert x.dtype == np.float32 and x.shape == (301, n_features)
    assert y.dtype == np.int64 and y.shape == (301,)
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes and counts.max() - counts.min() <= 1
    assert len(np.unique(y[:20])) > 1, "rows should come shuffled, not class by class"


@pytest.mark.parametrize(("make", "n_classes", "n_features"), CLASSIFICATION_SETS)
def test_seed_reproduces_and_generator_is_accepted(make, n_classes, n_features):
    x_first, y_first = make(42)
    x_second, y_second = make(np.random.default_rng(42))
    np.testing.assert_array_equal(x_first, x_second)
    np.testing.assert_array_equal(y_first, y_second)
    assert not np.array_equal(make(43)[0], x_first)


def test_spiral_arms_stay_within_unit_radius():
    x, _ = make_spirals(300, noise=0.5, rng=0)
    assert np.linalg.norm(x, axis=1).max() <= 1.0 + 1e-6


def test_sine_regression():
    x, y = make_sine(500, rng=0)
    assert x.shape == y.shape == (500, 1)
    assert x.dtype == y.dtype == np.float32
    assert -2 * np.pi <= x.min() and x.max() <= 2 * np.pi
    np.testing.assert_allclose(y, 0.5 * (np.sin(x) + 1), atol=1e-6)
    assert 0.0 <= y.min() and y.max() <= 1.0


def test_sine_noise():
    x, y = make_sine(2000, noise=0.1, rng=0)
    residual = y - 0.5 * (np.sin(x) + 1)
    assert residual.std() == pytest.approx(0.1, rel=0.1)


def test_too_few_samples_for_the_classes():
    with pytest.raises(DatasetError, match="at least one sample per class"):
        make_blobs(2, n_classes=3)

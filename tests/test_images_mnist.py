"""Real MNIST test digits saved as image files are read as their own pixels: `barenet predict`'s
reading path (:func:`barenet.runs.images.read_digit_image`) gives a trained model the same
answers as the raw rows, at scale 1 and enlarged 10 times, white on black and black on white."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import DATA_DIR, mnist_present
from PIL import Image

from barenet import mlp
from barenet.layers import Rescale
from barenet.runs.images import read_digit_image

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not mnist_present(), reason=f"MNIST not found under {DATA_DIR}"),
]
DIGITS = 10_000  # every test digit: the whole file took 6.7 minutes on two busy cores
SMOOTH_DIGITS = 2_000  # enlarged with bicubic interpolation (smoothed edges)


@pytest.fixture(scope="module")
def mnist_and_model():
    """The MNIST test set and an MLP 784-128-10 trained one epoch on the training set (seeded)."""
    from barenet.datasets import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(DATA_DIR)
    model = mlp([784, 128, 10], preprocessing=[Rescale(1 / 255)], rng=0)
    model.fit(x_train.reshape(-1, 784), y_train, epochs=1, batch_size=64, seed=0, verbose=0)
    return x_test, y_test, model


def read_back(digits: np.ndarray, folder, scale: int, inverted: bool, resample) -> np.ndarray:
    """Each 28x28 digit saved as a PNG (enlarged ``scale`` times, black on white when
    ``inverted``) and read back as barenet predict reads it: rows ``(n, 784)``."""
    rows = np.empty((len(digits), 784), dtype=np.float32)
    for index, digit in enumerate(digits):
        image = Image.fromarray(255 - digit if inverted else digit)
        if scale > 1:
            image = image.resize((28 * scale, 28 * scale), resample)
        path = folder / f"{index}.png"
        image.save(path)
        rows[index] = read_digit_image(path)
    return rows


@pytest.mark.parametrize("scale", [1, 10])
@pytest.mark.parametrize("inverted", [False, True], ids=["white on black", "black on white"])
def test_saved_digits_get_the_answers_of_their_pixels(mnist_and_model, tmp_path, scale, inverted):
    x_test, y_test, model = mnist_and_model
    digits = x_test[:DIGITS]
    raw = model.predict(digits.reshape(len(digits), 784))
    assert np.mean(raw == y_test[:DIGITS]) > 0.9  # a model worth comparing
    rows = read_back(digits, tmp_path, scale, inverted, Image.Resampling.NEAREST)
    same = np.mean(model.predict(rows) == raw)
    assert same >= 0.995, f"{same:.4f} of the predictions equal those from the raw pixels"
    if scale == 1:  # at its own scale the digit comes back as it is, whatever the polarity
        assert np.abs(rows - digits.reshape(len(digits), 784)).mean() < 0.1


def test_smoothly_enlarged_digits_nearly_get_the_answers_of_their_pixels(mnist_and_model, tmp_path):
    """Bicubic enlargement blurs each edge by about a pixel; 99 % of answers stay the same."""
    x_test, _, model = mnist_and_model
    digits = x_test[:SMOOTH_DIGITS]
    raw = model.predict(digits.reshape(len(digits), 784))
    rows = read_back(digits, tmp_path, 10, True, Image.Resampling.BICUBIC)
    assert np.mean(model.predict(rows) == raw) >= 0.985

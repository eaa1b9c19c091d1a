"""Digit images read the MNIST way: grayscale, white on black, 20x20 box, centred by mass."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import draw_shape, save_png

from barenet.runs.images import ImageReadError, mnist_style, read_digit_image


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / image.sum()), float((columns * image).sum() / image.sum())


def test_a_drawn_digit_becomes_an_mnist_row(tmp_path):
    row = read_digit_image(save_png(draw_shape("one", size=150, offset=(30, 20)), tmp_path / "one.png"))
    assert row.shape == (784,) and row.dtype == np.float32
    assert row.max() == pytest.approx(255) and row.min() == 0
    image = row.reshape(28, 28)
    assert np.allclose(centre_of_mass(image), (13.5, 13.5), atol=0.6)
    rows, columns = np.nonzero(image > 0.2 * 255)
    assert rows.max() - rows.min() + 1 == pytest.approx(20, abs=1)  # the longer side fills the 20x20 box
    assert columns.max() - columns.min() + 1 < 14  # a "1" stays narrow: the proportions are kept
    assert image[0].max() == image[-1].max() == 0  # background black, a border as in MNIST


def test_dark_ink_on_light_paper_is_inverted(tmp_path):
    light_on_dark = read_digit_image(save_png(draw_shape("ring"), tmp_path / "a.png"))
    dark_on_light = read_digit_image(save_png(draw_shape("ring", dark_on_light=True), tmp_path / "b.png"))
    assert np.allclose(light_on_dark, dark_on_light, atol=1e-3)
    assert dark_on_light.reshape(28, 28)[14, 14] == 0  # the hole of the zero is background


def test_colour_and_jpeg_files_are_read(tmp_path):
    from PIL import Image

    rgb = np.stack([draw_shape("dash")] * 3, axis=-1)
    Image.fromarray(rgb).save(tmp_path / "dash.jpg", quality=95)
    image = read_digit_image(tmp_path / "dash.jpg").reshape(28, 28)
    rows, columns = np.nonzero(image > 0.5 * 255)
    assert columns.max() - columns.min() + 1 >= 18 and rows.max() - rows.min() + 1 <= 6


def test_unreadable_images(tmp_path):
    with pytest.raises(ImageReadError, match="no image file at"):
        read_digit_image(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageReadError, match="is not a readable PNG or JPEG image"):
        read_digit_image(tmp_path / "text.png")
    with pytest.raises(ImageReadError, match="no digit found"):
        mnist_style(np.full((30, 30), 200.0))

"""Digit images read the MNIST way: grayscale, white on black, 20x20 box, centred by mass."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import draw_shape, save_png
from PIL import Image

from barenet.runs.image_filters import SMALL_BLUR, box_blur, extend, max_filter, min_filter
from barenet.runs.images import (
    Digit,
    ImageReadError,
    drawing_advice,
    median_exceeds,
    median_of_nonnegative,
    mnist_style,
    read_digit,
    read_digit_image,
)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / image.sum()), float((columns * image).sum() / image.sum())


def test_a_drawn_digit_becomes_an_mnist_row(tmp_path):
    row = read_digit_image(save_png(draw_shape("one", size=150, offset=(30, 20)), tmp_path / "one.png"))
    assert row.shape == (784,) and row.dtype == np.float32
    assert row.max() == pytest.approx(255) and row.min() == 0
    image = row.reshape(28, 28)
    assert np.allclose(centre_of_mass(image), (14, 14), atol=0.5)  # where MNIST puts it
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


def test_an_mnist_style_digit_comes_back_as_it_is():
    """A digit already prepared the MNIST way (white on black, 20x20 box, centred by mass in
    28x28) is left alone: as it is, inverted, and enlarged 10 times pixel by pixel."""
    for shape, width in (("one", 5), ("ring", 9), ("dash", 12)):
        digit = mnist_style(draw_shape(shape, offset=(7, -5), width=width).astype(float))
        assert np.abs(mnist_style(digit) - digit).max() < 0.01, shape
        assert np.abs(mnist_style(255 - digit) - digit).max() < 0.01, shape
        enlarged = np.kron(digit, np.ones((10, 10)))
        assert np.abs(mnist_style(enlarged) - digit).max() < 0.01, shape
        assert np.abs(mnist_style(255 - enlarged) - digit).max() < 0.01, shape


def test_small_dark_digits_on_white_paper_keep_their_polarity():
    """A small dark digit (ink under 1 % of the image) on white: the paper is the background,
    whatever the share of ink; it reads like the same digit drawn large."""
    large = mnist_style(draw_shape("ring", size=96).astype(float))
    for side in (300, 600):
        paper = np.full((side, side), 255.0)
        paper[100:148, 150:198] = 255 - np.asarray(
            Image.fromarray(draw_shape("ring", size=96, width=8)).resize((48, 48), Image.Resampling.BOX)
        )
        assert (paper < 128).mean() < 0.01
        digit = read_digit(paper)
        assert np.corrcoef(digit.image.ravel(), large.ravel())[0, 1] > 0.85
        assert digit.image[0].max() == 0 and digit.image[:, 0].max() == 0  # the paper is background
        assert digit.extent < 0.2 and not digit.cut_off


def test_drawing_advice_names_size_and_place():
    image = np.zeros((28, 28), dtype=np.float32)
    assert "draw it bigger" in drawing_advice(Digit(image, extent=0.2, cut_off=False))
    assert "centre it" in drawing_advice(Digit(image, extent=0.8, cut_off=True))
    assert drawing_advice(Digit(image, extent=0.7, cut_off=False)) == ""
    touching = np.zeros((100, 100))
    touching[:60, 40:50] = 255
    assert read_digit(touching).cut_off


def plain_filter(image: np.ndarray, window: int, reduce) -> np.ndarray:
    """The definition the fast filters follow: ``reduce`` over ``window`` rows, then columns,
    each axis extended by point reflection first."""
    half = window // 2
    sliding = np.lib.stride_tricks.sliding_window_view
    rows = reduce(sliding(extend(image, half, 0), window, axis=0), axis=-1)
    return reduce(sliding(extend(rows, 0, half), window, axis=1), axis=-1)


def test_running_minimum_and_maximum_equal_the_plain_definition():
    rng = np.random.default_rng(0)
    for shape, window in (((13, 17), 5), ((40, 9), 11), ((6, 30), 9), ((3, 3), 9)):
        image = rng.normal(size=shape)
        assert np.array_equal(min_filter(image, window), plain_filter(image, window, np.min))
        assert np.array_equal(max_filter(image, window), plain_filter(image, window, np.max))


def test_point_reflection_is_numpys_odd_reflection_then_the_edge():
    image = np.random.default_rng(1).normal(size=(6, 9))
    for rows, columns in ((1, 1), (2, 3), (5, 8), (6, 2), (9, 12), (0, 4), (3, 0)):
        top, side = min(rows, 5), min(columns, 8)  # reflection reaches at most the size less one
        expected = np.pad(image, [(top, top), (side, side)], mode="reflect", reflect_type="odd")
        rest = [(rows - top,) * 2, (columns - side,) * 2]
        expected = np.pad(expected, rest, mode="edge")
        assert np.array_equal(extend(image, rows, columns), expected)


@pytest.mark.parametrize("radius", [1, 2, SMALL_BLUR + 1, 7])
def test_box_blur_is_the_mean_of_each_window(radius):
    """Small windows add shifted copies, large ones read a summed-area table: both give the
    window means of the plain definition; whole grey levels exactly."""
    rng = np.random.default_rng(radius)
    for image in (rng.integers(0, 256, size=(23, 17)).astype(np.float64), rng.normal(size=(9, 30)) * 50):
        sliding = np.lib.stride_tricks.sliding_window_view
        width = 2 * radius + 1
        plain = sliding(extend(image, radius, radius), (width, width)).mean(axis=(-2, -1))
        if np.array_equal(image, np.round(image)):
            assert np.array_equal(box_blur(image, radius), plain)
        else:
            np.testing.assert_allclose(box_blur(image, radius), plain, rtol=1e-12, atol=1e-10)


def test_medians_by_counting_are_numpys_medians():
    rng = np.random.default_rng(2)
    for size in (1, 2, 7, 8, 100, 101):
        for zeros in (0, size // 2, size // 2 + 1, size):
            values = rng.integers(0, 4, size).astype(np.float64)
            values[:zeros] = 0
            assert median_of_nonnegative(values) == np.median(values)
            for threshold in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
                assert median_exceeds(values, threshold) == (np.median(values) > threshold)
    tie = np.array([0.0, 1.0, 3.0, 5.0])  # the two middle values straddle 1.9 and average 2
    assert median_exceeds(tie, 1.9) and not median_exceeds(tie, 2.0)

"""RandomShift: shapes, identity at zero, exact shifts, rotation and seeding."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet.datasets import DatasetError, RandomShift


@settings(deadline=None)
@given(
    n_samples=st.integers(0, 8),
    flat=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64, np.uint8]),
    max_shift=st.integers(0, 4),
    rotation_degrees=st.floats(0, 30),
    seed=st.integers(0, 1000),
)
def test_shape_and_dtype_are_kept(n_samples, flat, dtype, max_shift, rotation_degrees, seed):
    shape = (n_samples, 784) if flat else (n_samples, 28, 28)
    x_batch = np.random.default_rng(seed).integers(0, 256, size=shape).astype(dtype)
    augmented = RandomShift(max_shift, rotation_degrees, rng=seed)(x_batch)
    assert augmented.shape == x_batch.shape and augmented.dtype == x_batch.dtype
    assert set(np.unique(augmented)) <= set(np.unique(x_batch)) | {0}  # moved, not blended


@given(seed=st.integers(0, 1000), flat=st.booleans())
def test_zero_shift_is_identity(seed, flat):
    x_batch = np.random.default_rng(seed).random((5, 28, 28), dtype=np.float32)
    if flat:
        x_batch = x_batch.reshape(5, 784)
    np.testing.assert_array_equal(RandomShift(max_shift=0, rng=seed)(x_batch), x_batch)


def test_each_image_is_shifted_by_whole_pixels():
    images = np.zeros((50, 28, 28), dtype=np.float32)
    images[:, 10:15, 12:16] = 1.0  # a block well inside the frame
    shifted = RandomShift(max_shift=2, rng=0)(images)
    offsets = set()
    for original, moved in zip(images, shifted, strict=True):
        rows, columns = np.nonzero(moved)
        row_shift, column_shift = rows.min() - 10, columns.min() - 12
        assert abs(row_shift) <= 2 and abs(column_shift) <= 2
        np.testing.assert_array_equal(np.roll(original, (row_shift, column_shift), (0, 1)), moved)
        offsets.add((row_shift, column_shift))
    assert len(offsets) > 5, "images in a batch should get different shifts"


def test_pixels_shifted_in_from_outside_are_zero():
    images = np.ones((200, 6, 6))
    shifted = RandomShift(max_shift=1, image_shape=(6, 6), rng=0)(images)
    assert shifted.sum(axis=(1, 2)).min() == 25  # a diagonal shift loses 11 of 36 pixels


def test_rotation_keeps_the_centre_and_turns_a_bar():
    images = np.zeros((20, 29, 29))
    images[:, 14, 4:25] = 1.0  # horizontal bars through the centre
    augmenter = RandomShift(max_shift=0, rotation_degrees=90, image_shape=(29, 29), rng=1)
    rotated = augmenter(images)
    np.testing.assert_array_equal(rotated[:, 14, 14], 1.0)
    assert np.all(rotated.sum(axis=(1, 2)) >= 15), "a rotated bar keeps roughly its length"
    n_turned = sum(not np.array_equal(image, images[0]) for image in rotated)
    assert n_turned >= 15


def test_seeded_augmentation_is_reproducible():
    x_batch = np.random.default_rng(0).random((4, 784))
    first = RandomShift(2, 10.0, rng=5)(x_batch)
    second = RandomShift(2, 10.0, rng=np.random.default_rng(5))(x_batch)
    np.testing.assert_array_equal(first, second)


def test_wrong_image_size_is_explained():
    with pytest.raises(DatasetError, match=r"\(n_samples, 784\) or \(n_samples, 28, 28\)"):
        RandomShift()(np.zeros((2, 100)))


def test_negative_settings_are_refused():
    with pytest.raises(DatasetError, match="must be >= 0"):
        RandomShift(max_shift=-1)


def test_horizontal_flip_mirrors_about_half_the_images_and_nothing_else():
    images = np.random.default_rng(3).random((400, 28, 28), dtype=np.float32)
    flipped = RandomShift(max_shift=0, rng=0, horizontal_flip=True)(images)
    mirrored = [np.array_equal(out, image[:, ::-1]) for out, image in zip(flipped, images, strict=True)]
    unchanged = [np.array_equal(out, image) for out, image in zip(flipped, images, strict=True)]
    assert all(m != u for m, u in zip(mirrored, unchanged, strict=True))  # each image one or the other
    assert 150 < sum(mirrored) < 250


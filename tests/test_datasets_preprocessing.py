"""Scaling, standardising, one-hot, the stratified split and the batch iterator."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet.datasets import (
    BatchIterator,
    DatasetError,
    fit_standardisation,
    flatten_images,
    one_hot,
    scale_pixels,
    standardise,
    train_validation_split,
)


def test_scale_and_flatten_images():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    rows = flatten_images(scale_pixels(images))
    assert rows.dtype == np.float32 and rows.shape == (1, 4)
    np.testing.assert_allclose(rows, [[0.0, 1.0, 0.2, 0.4]])


def test_scale_pixels_refuses_already_scaled_data():
    with pytest.raises(DatasetError, match="already scaled"):
        scale_pixels(np.zeros((2, 2), dtype=np.float32))


def test_flatten_needs_a_batch_of_images():
    with pytest.raises(DatasetError, match=r"\(n_samples, height, width\)"):
        flatten_images(np.zeros(5))


def test_standardisation_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(3.0, 2.0, size=(1000, 3)).astype(np.float32)
    x_train[:, 2] = 7.0  # a constant feature must not cause a division by zero
    statistics = fit_standardisation(x_train)
    standardised = standardise(x_train, statistics)
    assert standardised.dtype == np.float32
    np.testing.assert_allclose(standardised[:, :2].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(standardised[:, :2].std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_array_equal(standardised[:, 2], 0.0)
    x_test = np.full((2, 3), 3.0, dtype=np.float32)
    expected = (x_test - statistics.mean) / statistics.std
    np.testing.assert_allclose(standardise(x_test, statistics), expected)


def test_global_standardisation():
    statistics = fit_standardisation(np.array([[0.0, 2.0], [4.0, 6.0]]), per_feature=False)
    assert statistics.mean.shape == () and statistics.mean == 3.0
    assert statistics.std == pytest.approx(np.sqrt(5.0))


def test_one_hot():
    encoded = one_hot(np.array([2, 0, 1]), n_classes=4)
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert one_hot(np.array([0, 3])).shape == (2, 4)


@pytest.mark.parametrize(
    ("labels", "message"),
    [(np.array([0, 10]), r"outside 0..9"), (np.array([0.0, 1.0]), "integer class ids")],
)
def test_one_hot_errors(labels, message):
    with pytest.raises(DatasetError, match=message):
        one_hot(labels, n_classes=10)


@settings(deadline=None)
@given(
    class_counts=st.lists(st.integers(1, 60), min_size=1, max_size=6),
    validation_fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_split_preserves_class_proportions(class_counts, validation_fraction, seed):
    y = np.repeat(np.arange(len(class_counts)), class_counts)
    x = np.arange(len(y))[:, None].astype(np.float32)
    (x_train, y_train), (x_validation, y_validation) = train_validation_split(
        x, y, validation_fraction, rng=seed
    )
    assert sorted(np.concatenate([x_train, x_validation])[:, 0]) == list(range(len(y)))
    np.testing.assert_array_equal(y[x_train[:, 0].astype(int)], y_train)
    validation_counts = np.bincount(y_validation, minlength=len(class_counts))
    assert np.all(np.abs(validation_counts - validation_fraction * np.array(class_counts)) <= 0.5)


def test_split_is_seeded_and_keeps_order():
    x = np.arange(100)[:, None]
    y = np.arange(100) % 4
    first = train_validation_split(x, y, 0.2, rng=7)
    second = train_validation_split(x, y, 0.2, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first[1][0], second[1][0])
    assert np.all(np.diff(first[0][0][:, 0]) > 0) and np.all(np.diff(first[1][0][:, 0]) > 0)


def test_unstratified_split_for_regression_targets():
    y = np.linspace(0, 1, 50, dtype=np.float32)[:, None]
    (_, y_train), (_, y_validation) = train_validation_split(y, y, 0.2, stratify=False, rng=0)
    assert len(y_train) == 40 and len(y_validation) == 10
    with pytest.raises(DatasetError, match="stratify=False"):
        train_validation_split(y, y, 0.2)


def test_batches_cover_every_sample_once_per_epoch():
    x = np.arange(10, dtype=np.float64)[:, None]
    y = np.arange(10)
    batches = BatchIterator(x, y, batch_size=4, rng=0)
    assert len(batches) == 3
    for _ in range(2):
        epoch = list(batches)
        assert [len(x_batch) for x_batch, _ in epoch] == [4, 4, 2]
        assert all(x_batch.dtype == np.float32 for x_batch, _ in epoch)
        x_seen = np.concatenate([x_batch[:, 0] for x_batch, _ in epoch])
        y_seen = np.concatenate([y_batch for _, y_batch in epoch])
        np.testing.assert_array_equal(x_seen, y_seen)  # rows stay paired with their labels
        assert sorted(y_seen) == list(range(10))


def test_epochs_are_reshuffled_and_resume_is_bit_exact():
    x = np.arange(100, dtype=np.float32)[:, None]
    batches = BatchIterator(x, np.arange(100), batch_size=10, rng=3)
    first_epoch = [y_batch for _, y_batch in batches]
    saved_state = batches.rng.bit_generator.state
    second_epoch = [y_batch for _, y_batch in batches]
    assert not np.array_equal(np.concatenate(first_epoch), np.concatenate(second_epoch))
    batches.rng.bit_generator.state = saved_state
    resumed_epoch = [y_batch for _, y_batch in batches]
    np.testing.assert_array_equal(np.concatenate(resumed_epoch), np.concatenate(second_epoch))


def test_no_shuffle_keeps_order_and_full_batch_avoids_copying():
    x = np.arange(6, dtype=np.float32)[:, None]
    y = np.linspace(0, 1, 6)  # float64 targets come out as float32
    ordered = [y_batch for _, y_batch in BatchIterator(x, y, batch_size=4, shuffle=False)]
    np.testing.assert_array_equal(np.concatenate(ordered), y.astype(np.float32))
    full = BatchIterator(x, y, batch_size=None)
    assert len(full) == 1
    ((x_batch, y_batch),) = list(full)
    assert np.shares_memory(x_batch, x) and y_batch.dtype == np.float32


def test_batch_iterator_errors():
    with pytest.raises(DatasetError, match="x has 3 samples but y has 2"):
        BatchIterator(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(DatasetError, match="batch_size must be a positive integer"):
        BatchIterator(np.zeros((3, 1)), np.zeros(3), batch_size=0)
